"""The scheduler's loop time with the reconciler on and off (its sweep thread and the check at
each run's end), the plugin otherwise on in both. Target (issue 10): within 5 % with 200 task
instances.

Each arm starts `airflow standalone` (scheduler, DAG processor, API server, triggerer;
LocalExecutor, SQLite) in one throw-away AIRFLOW_HOME with the project's plugin, triggers one
run of benchmarks/dags/scheduler_load.py (200 mapped task instances, 100 of them failing, so the
run-end check has 100 ended tries to look up) and reads the scheduler's own measure of each loop
("Ran scheduling loop in X ms", its DEBUG line, switched on for that one logger) from the trigger
to the run's end. Arms, in turn, `--rounds` times:
- `plugin_off`: TASK_HEALTH_PLUGIN=false, no task health at all (for scale: the task processes
  then do less work beside the scheduler on the same cores);
- `reconciler_off`: the plugin on, TASK_HEALTH_RECONCILER=false (the baseline);
- `reconciler_on`: the plugin with its defaults (sweep every 15 s);
- `sweep_1s`: the sweep every second, fifteen times its default rate (a stress case).
Ratios are of the mean loop time (what the scheduler spends per loop) against `reconciler_off`
in the same run; medians and p90s are printed too. On this 2-core machine the tasks share the
scheduler's cores, and one run's mean loop time varies by tens of percent between identical
arms, so the benchmark also bounds the reconciler's cost from inside the scheduler, where
noise does not reach: the scheduler logs its reconciler's totals when it stops (passes, their
wall time and their threads' CPU time). The loop thread can lose to the reconciler's threads at
most that CPU time (the GIL), so `loop_bound_cpu` = loop time / (loop time - reconciler CPU) is
an upper bound of the slow-down within the same arm; `loop_bound_wall` uses the passes' wall
time instead (as if every pass, its waits for the database and Elasticsearch included, held
the loop up). The totals include the passes after the run's end, until the stop: the bounds
err on the high side. Needs Elasticsearch on --port. JSON last line.

Usage: . scripts/env.sh && python -m benchmarks.bench_scheduler [--rounds 1] [--port 9200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import requests

from benchmarks import airflow_sandbox

DAG_ID = "scheduler_load"
TASKS = 200
API_PORT = 8797
BASE = f"http://localhost:{API_PORT}"
LOOP_LOGGER = "airflow.jobs.scheduler_job_runner"
LOOP = re.compile(r"Ran scheduling loop in ([\d.]+) ms")
TOTALS = re.compile(r"task-health reconciler totals: (\d+) passes, \d+ tries read, \d+ documents written, "
                    r"([\d.]+) ms wall \(longest pass ([\d.]+) ms\), ([\d.]+) ms CPU")  # fmt: skip
ARMS = {
    "plugin_off": {"TASK_HEALTH_PLUGIN": "false"},
    "reconciler_off": {"TASK_HEALTH_RECONCILER": "false"},
    "reconciler_on": {},
    "sweep_1s": {"TASK_HEALTH_SWEEP_INTERVAL_S": "1"},
}
BASELINE = "reconciler_off"
RECONCILING = ("reconciler_on", "sweep_1s")


def start_airflow(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen, Path]:
    log_path = home / f"standalone-{uuid.uuid4().hex[:6]}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            ["airflow", "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            health = requests.get(f"{BASE}/api/v2/monitor/health", timeout=5).json()
            parts = [v for v in health.values() if isinstance(v, dict)]
            if parts and all(p.get("status") == "healthy" for p in parts):
                return process, log_path
        except (requests.RequestException, ValueError):
            pass
        if process.poll() is not None:
            break
        time.sleep(2)
    stop(process)
    raise SystemExit(f"airflow standalone did not become healthy:\n{log_path.read_text()[-3000:]}")


def stop_scheduler(process: subprocess.Popen, log_path: Path, since_offset: int) -> None:
    """SIGTERM the standalone's scheduler alone, so that the reconciler's totals, which it logs as
    it stops, still reach the standalone's log, which relays them; wait for that line (the
    scheduler of Airflow 3.3.2 does not exit after a SIGTERM here, plugin or not, so its exit
    is no signal)."""
    for child in psutil.Process(process.pid).children():
        if "scheduler" in child.cmdline():
            child.terminate()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not times(log_path, since_offset, TOTALS):
        time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def api(method: str, path: str, **kwargs) -> dict:
    for attempt in range(5):
        response = requests.request(method, f"{BASE}/api/v2{path}", timeout=30, **kwargs)
        if response.ok:
            return response.json()
        if response.status_code not in {404, 500, 503} or attempt == 4:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        time.sleep(3)
    raise AssertionError("unreachable")


def one_run() -> tuple[str, float]:
    """Trigger the DAG and wait for its run; (run id, wall seconds)."""
    deadline = time.monotonic() + 120
    while requests.get(f"{BASE}/api/v2/dags/{DAG_ID}", timeout=10).status_code != 200:
        if time.monotonic() > deadline:
            raise SystemExit(f"{DAG_ID} was not parsed")
        time.sleep(1)
    api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    start = time.monotonic()
    run_id = api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": None})["dag_run_id"]
    while api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")["state"] not in {"success", "failed"}:
        if time.monotonic() - start > 1200:
            raise SystemExit("the run did not finish within 20 minutes")
        time.sleep(1)
    return run_id, time.monotonic() - start


def times(log_path: Path, since_offset: int, pattern: re.Pattern[str]) -> list[tuple[float, ...]]:
    """The figures (milliseconds) `pattern` finds in the scheduler's lines after `since_offset`."""
    with open(log_path, errors="replace") as log:
        log.seek(since_offset)
        found = (pattern.search(line) for line in log if line.startswith("scheduler"))
        return [tuple(float(g) for g in m.groups()) for m in found if m]


def wait_for_port_free(timeout: float = 60) -> None:
    """The previous arm's API server may outlive its standalone for a while."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{BASE}/api/v2/monitor/health", timeout=2)
        except requests.RequestException:
            return
        time.sleep(1)
    raise SystemExit(f"port {API_PORT} still answers {timeout:.0f} s after the last Airflow stopped")


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "loops": len(values),
        "mean_ms": round(statistics.fmean(values), 2),
        "median_ms": round(statistics.median(values), 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
    }


def reconciler_cost(loops: list[float], passes: list[tuple[float, ...]]) -> dict[str, float]:
    """The reconciler's passes in one arm and the most they can have added to its loop time."""
    loop_ms, wall_ms, cpu_ms = sum(loops), sum(p[1] for p in passes), sum(p[3] for p in passes)
    return {
        "passes": int(sum(p[0] for p in passes)),
        "wall_ms": round(wall_ms, 1),
        "cpu_ms": round(cpu_ms, 1),
        "longest_pass_ms": max(p[2] for p in passes),
        "loop_bound_cpu": round(loop_ms / (loop_ms - cpu_ms), 4),
        "loop_bound_wall": round(loop_ms / (loop_ms - wall_ms), 4) if loop_ms > wall_ms else float("inf"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ES_PORT", "9200")))
    args = parser.parse_args()
    prefix = airflow_sandbox.point_task_health_at(args.port, "scheduler")
    home = airflow_sandbox.prepare()
    base_env = {
        **os.environ,
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(airflow_sandbox.PROJECT_PLUGINS),
        "AIRFLOW__API__PORT": str(API_PORT),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{BASE}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__NAMESPACE_LEVELS": f"{LOOP_LOGGER}=DEBUG",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    loops: dict[str, list[float]] = {arm: [] for arm in ARMS}
    passes: dict[str, list[tuple[float, ...]]] = {arm: [] for arm in ARMS}  # (passes, wall, longest, CPU ms)
    walls: dict[str, list[float]] = {arm: [] for arm in ARMS}
    runs: dict[str, list[str]] = {arm: [] for arm in ARMS}
    for round_ in range(args.rounds):
        for arm, settings in ARMS.items():
            wait_for_port_free()
            process, log_path = start_airflow(home, {**base_env, **settings})
            try:
                offset = log_path.stat().st_size
                run_id, wall = one_run()
                time.sleep(2)  # the run's last loop lines reach the log
                measured = [ms for (ms,) in times(log_path, offset, LOOP)]
                if arm in RECONCILING:
                    stop_scheduler(process, log_path, offset)
            finally:
                stop(process)
            if not measured:
                raise SystemExit(f"no scheduler loop times in {log_path}: is the DEBUG line still there?")
            totals = times(log_path, offset, TOTALS)
            if arm in RECONCILING and not totals:  # checked per run: a later round must not lean on an earlier one
                raise SystemExit(f"no reconciler totals in {log_path}: does the scheduler still log them at its stop?")
            passes[arm] += totals
            loops[arm] += measured
            walls[arm].append(wall)
            runs[arm].append(run_id)
            print(f"round {round_ + 1} {arm:>14}: {summary(measured)} run {wall:.0f} s", flush=True)

    from elasticsearch import Elasticsearch

    es = Elasticsearch(f"http://127.0.0.1:{args.port}", request_timeout=30)
    es.indices.refresh(index=f"{prefix}-*", allow_no_indices=True)
    documents = {
        arm: es.count(index=f"{prefix}-*", query={"terms": {"airflow.run_id": run_ids}}, allow_no_indices=True)["count"]
        for arm, run_ids in runs.items()
    }
    airflow_sandbox.drop_task_health(es, prefix)
    # Each instrumented run: `started` + terminal per task instance, and the run's summary.
    expected = {arm: 0 if settings.get("TASK_HEALTH_PLUGIN") == "false" else args.rounds * (2 * TASKS + 1)
                for arm, settings in ARMS.items()}  # fmt: skip
    results = {arm: summary(values) for arm, values in loops.items()}
    baseline = results[BASELINE]["mean_ms"]
    ratios = {arm: round(result["mean_ms"] / baseline, 3) for arm, result in results.items()}
    costs = {arm: reconciler_cost(loops[arm], passes[arm]) for arm in ARMS if passes[arm]}
    for arm, result in results.items():
        print(f"{arm:>14}: {result}  ratio of means vs {BASELINE}: {ratios[arm]}  reconciler: {costs.get(arm)}")
    print(f"documents: {documents} (expected {expected})")
    print(
        json.dumps(
            {
                "benchmark": "bench_scheduler",
                "task_instances_per_run": TASKS,
                "rounds": args.rounds,
                "loops": results,
                "baseline": BASELINE,
                "loop_mean_ratio": ratios,
                "reconciler": costs,
                "run_wall_s": {arm: [round(w, 1) for w in values] for arm, values in walls.items()},
                "documents": documents,
                "documents_expected": expected,
                "target_ratio": 1.05,
            }
        )
    )


if __name__ == "__main__":
    main()
