"""How one daily run of `hourly_anomaly_detection` scales with the number of regions.

For 10, 100 and 1,000 regions (demo data, 35 days of history; generating it is not timed) a
fresh interpreter with its own Airflow metadata DB and MLflow store runs the real DAG through
`dag.test()` twice for the same day, against the local Elasticsearch:
- `first`: the day's first run, which trains and registers the model (the weekly case);
- `daily`: the run again, loading the registered model (the usual day).
Each figure is wall time of the whole run and the process's peak RSS. The baseline is the
smallest size measured in the same run: ratios show time per region-day against it, and the
cost exponent k is the least-squares slope of log(time) over log(regions) (time ~ regions^k;
k <= 1 means no worse than linear). Fixed costs (Airflow, model loading) flatten that fit, so
the marginal exponent between the two largest sizes is printed too: it is closer to how the
cost grows from there. Target: k <= 1.1 for both runs. Prints one JSON object as its last line;
`cost_exponent` is the larger of the two fitted exponents.

Usage: . scripts/env.sh && python -m benchmarks.bench_scale [--sizes 10 100 1000] [--port 9200]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from benchmarks import airflow_sandbox, stores

DAY = date(2026, 3, 4)
HISTORY_DAYS = 35
SHARD_SIZE = 50
TARGET_EXPONENT = 1.1
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def fitted_exponent(sizes: list[int], seconds: list[float]) -> float:
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def generate(root: Path, regions: int) -> None:
    from include.anomaly.demo_data import DemoConfig, region_names, write_days

    write_days(root, DAY - timedelta(days=HISTORY_DAYS), DAY + timedelta(days=1), region_names(regions), DemoConfig())


def timed_run(dag, regions: int) -> dict:
    start = time.perf_counter()
    run = dag.test(run_conf={"date": DAY.isoformat(), "shard_size": SHARD_SIZE})
    wall = time.perf_counter() - start
    state = str(getattr(run.state, "value", run.state))
    persisted = run.get_task_instance("persist").xcom_pull(task_ids="persist") or {}
    if state != "success" or persisted.get("rows") != regions:
        raise SystemExit(f"{regions} regions: run {state}, persisted {persisted}")
    tasks: dict[str, float] = {}
    for ti in run.get_task_instances():
        tasks[ti.task_id] = tasks.get(ti.task_id, 0.0) + (ti.duration or 0.0)
    return {"wall_s": wall, "task_s": tasks, "indexed": persisted["indexed"]}


def child(regions: int, data_root: Path, port: int, prefix: str) -> dict:
    """One size, in this (fresh) interpreter: two runs of the real DAG."""
    state = Path(tempfile.mkdtemp(prefix="bench-scale-state-"))
    stores.isolate(state, port, prefix)
    os.environ["DATA_ROOT"] = data_root.as_uri()
    airflow_sandbox.prepare({"dags-folder": airflow_sandbox.PROJECT_DAGS})
    subprocess.run(
        [sys.executable, "-m", "scripts.load_airflow_settings", "airflow_settings.yaml"],
        check=True,
        capture_output=True,
        cwd=PROJECT_ROOT,
    )  # the model_registry pool
    dag = airflow_sandbox.load_dag("hourly_anomaly_detection", airflow_sandbox.PROJECT_DAGS)
    first = timed_run(dag, regions)
    daily = timed_run(dag, regions)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"regions": regions, "first": first, "daily": daily, "peak_rss_mb": peak_mb}


def measure(regions: int, port: int, prefix: str, workdir: Path) -> dict:
    root = workdir / f"regions-{regions}"
    generate(root, regions)
    command = [sys.executable, "-m", "benchmarks.bench_scale", "--child", str(regions), "--data-root", str(root)]
    done = subprocess.run(
        [*command, "--port", str(port), "--prefix", f"{prefix}-{regions}"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"{regions} regions failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: list[dict]) -> dict:
    sizes = [r["regions"] for r in results]
    base = results[0]
    exponents = {kind: fitted_exponent(sizes, [r[kind]["wall_s"] for r in results]) for kind in ("first", "daily")}
    marginal = {kind: fitted_exponent(sizes[-2:], [r[kind]["wall_s"] for r in results[-2:]]) for kind in exponents}
    print(f"{'regions':>8}{'first run s':>13}{'daily run s':>13}{'ms/region (daily)':>19}{'vs base':>9}{'peak MB':>9}")
    for r in results:
        per_region = r["daily"]["wall_s"] / r["regions"] * 1000
        ratio = per_region / (base["daily"]["wall_s"] / base["regions"] * 1000)
        print(
            f"{r['regions']:>8}{r['first']['wall_s']:>13.2f}{r['daily']['wall_s']:>13.2f}"
            f"{per_region:>19.2f}{ratio:>9.3f}{r['peak_rss_mb']:>9.0f}"
        )
    for r in results:
        tasks = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["daily"]["task_s"].items()))
        print(f"  daily run, {r['regions']} regions, task seconds: {tasks}")
    print(f"cost exponent: first run {exponents['first']:.3f}, daily run {exponents['daily']:.3f}")
    print(f"marginal exponent {sizes[-2]} -> {sizes[-1]}: first {marginal['first']:.3f}, daily {marginal['daily']:.3f}")
    return {
        "benchmark": "bench_scale",
        "shard_size": SHARD_SIZE,
        "results": results,
        "exponent_first_run": exponents["first"],
        "exponent_daily_run": exponents["daily"],
        "marginal_exponent_first_run": marginal["first"],
        "marginal_exponent_daily_run": marginal["daily"],
        "cost_exponent": max(exponents.values()),
        "target_exponent": TARGET_EXPONENT,
        "target_met": max(exponents.values()) <= TARGET_EXPONENT,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--port", type=int, default=int(os.environ.get("ES_PORT", "9200")))
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.data_root, args.port, args.prefix)))
        return 0
    prefix = f"bench-scale-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as workdir:
        try:
            results = [measure(n, args.port, prefix, Path(workdir)) for n in sorted(args.sizes)]
        finally:
            stores.remove(args.port, prefix)
    print(json.dumps(report(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
