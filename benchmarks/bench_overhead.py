"""Wall time task health adds per task instance (callbacks or the plugin's listener + psutil
sampling + shipping to the local Elasticsearch), against the same DAG without it, same
process, same run.

Three variants run in turn through `dag.test()` after one warm-up each, with the project's
plugin loaded: `plain` (the 40-task DAG of benchmarks/dags/overhead_pair.py, plugin off:
no instrumentation), `plugin` (the same DAG, plugin on) and `callbacks` (its twin with
`with_task_health`, plugin on: the listener leaves it to the callbacks). Figures:
- `median_overhead_ms` / `plugin_median_overhead_ms`: the wall time each task instance spends
  inside the task-health callbacks / listener hooks (they run synchronously in the task's
  process, so this is the time they add), summed per task instance, median over them;
- `ab_overhead_ms` / `plugin_ab_overhead_ms`: (variant - plain) / 40 per round, median over the
  rounds: the end-to-end cross-check, much noisier (Airflow's own per-task cost is ~100 ms here).
`dag.test()` runs every task in this one process, so the per-process costs a real worker pays
once per task (imports, client, template check) are amortised here; they are measured
separately in a fresh interpreter (`cold_*`).
Prints one JSON object as its last line.

Usage: . scripts/env.sh && python -m benchmarks.bench_overhead [--pairs 7] [--port 9200]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

from benchmarks import airflow_sandbox

TASKS = 40
COLD_PROBE = """
import time, json
import airflow.sdk  # a task process has the SDK loaded before any callback runs
t0 = time.perf_counter()
from datetime import UTC, datetime
from include.task_health.callbacks import on_task_execute  # what a DAG file imports
import include.task_health.resources, include.delivery.shipper, elasticsearch  # what the first callback loads
t1 = time.perf_counter()
from include.task_health.document import AirflowRef, HealthEvent
from include.task_health.emitter import emit
ref = AirflowRef(dag_id="bench", run_id="cold", task_id="t", try_number=1, map_index=-1)
result = emit(HealthEvent("task_execution", "started", datetime.now(UTC), ref, "bench"))
t2 = time.perf_counter()
assert result.delivered == 1, result
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_emit_ms": (t2 - t1) * 1000}))
"""


def cold_costs(repeats: int = 5) -> dict[str, float]:
    samples = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", COLD_PROBE], capture_output=True, text=True, check=True)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {k: statistics.median(s[k] for s in samples) for k in samples[0]}


def time_the_callbacks() -> dict[tuple, float]:
    """Wrap every task-health task callback with a timer; returns {task instance: seconds}."""
    from include.task_health import callbacks

    spent: dict[tuple, float] = defaultdict(float)

    def timed(callback):
        @functools.wraps(callback)  # the listener still recognises it as task health's
        def wrapper(context):
            start = time.perf_counter()
            callback(context)
            ti = context["ti"]
            spent[(ti.run_id, ti.task_id, ti.map_index, ti.try_number)] += time.perf_counter() - start

        return wrapper

    for name, callback in list(callbacks.TASK_CALLBACKS.items()):
        callbacks.TASK_CALLBACKS[name] = timed(callback)
    return spent


def time_the_listener() -> dict[tuple, float]:
    """Wrap the listener's task hooks with a timer (before Airflow registers them)."""
    from include.task_health.listener import TaskHealthListener

    spent: dict[tuple, float] = defaultdict(float)

    def timed(hook):
        @functools.wraps(hook)  # keeps pluggy's hookimpl marker
        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            hook(self, *args, **kwargs)
            ti = args[1]  # pluggy passes (previous_state, task_instance, …) positionally
            spent[(ti.run_id, ti.task_id, ti.map_index, ti.try_number)] += time.perf_counter() - start

        return wrapper

    for name in ("on_task_instance_running", "on_task_instance_success", "on_task_instance_failed"):
        setattr(TaskHealthListener, name, timed(getattr(TaskHealthListener, name)))
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ES_PORT", "9200")))
    args = parser.parse_args()
    prefix = airflow_sandbox.point_task_health_at(args.port, "overhead")
    airflow_sandbox.prepare()
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(airflow_sandbox.PROJECT_PLUGINS)
    spent = time_the_callbacks()
    listener_spent = time_the_listener()
    variants = {"plain": ("overhead_plain", "false"), "plugin": ("overhead_plain", "true"),
                "callbacks": ("overhead_instrumented", "true")}  # fmt: skip
    dags = {dag_id: airflow_sandbox.load_dag(dag_id) for dag_id, _ in variants.values()}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    plugin_runs: set[str] = set()
    for round_ in range(args.pairs + 1):
        for name, (dag_id, plugin) in variants.items():
            os.environ["TASK_HEALTH_PLUGIN"] = plugin
            start = time.perf_counter()
            run = dags[dag_id].test()
            elapsed = time.perf_counter() - start
            if str(getattr(run.state, "value", run.state)) != "success":
                raise SystemExit(f"{name} run failed")
            if round_:  # round 0 warms up every variant
                walls[name].append(elapsed)
                if name == "plugin":
                    plugin_runs.add(run.run_id)
    callback_ms = [seconds * 1000 for seconds in spent.values()]
    listener_ms = [seconds * 1000 for key, seconds in listener_spent.items() if key[0] in plugin_runs]
    per_pair_ms = [(i - p) / TASKS * 1000 for i, p in zip(walls["callbacks"], walls["plain"], strict=True)]
    plugin_pair_ms = [(i - p) / TASKS * 1000 for i, p in zip(walls["plugin"], walls["plain"], strict=True)]
    from elasticsearch import Elasticsearch

    es = Elasticsearch(f"http://127.0.0.1:{args.port}", request_timeout=30)
    es.indices.refresh(index=f"{prefix}-*")
    written = es.count(index=f"{prefix}-*")["count"]
    expected = 2 * (args.pairs + 1) * (TASKS * 2 + 1)  # plugin and callbacks runs; plain writes none
    cold = cold_costs()
    for name, values in walls.items():
        print(f"{name:>13}: {statistics.median(values) / TASKS * 1000:7.1f} ms per task instance (median of runs)")
    print(f"    callbacks: {statistics.median(callback_ms):7.1f} ms per task instance (median of {len(callback_ms)})")
    print(f"     listener: {statistics.median(listener_ms):7.1f} ms per task instance (median of {len(listener_ms)})")
    pairs = [round(x, 1) for x in per_pair_ms]
    print(f"A/B callbacks: {statistics.median(per_pair_ms):7.1f} ms per task instance (rounds: {pairs})")
    print(f"   A/B plugin: {statistics.median(plugin_pair_ms):7.1f} ms per task instance")
    print(f"   documents: {written} written, {expected} expected")
    print(f"  cold costs: {cold}")
    airflow_sandbox.drop_task_health(es, prefix)
    print(
        json.dumps(
            {
                "benchmark": "bench_overhead",
                "task_instances_per_run": TASKS,
                "pairs": args.pairs,
                "plain_ms_per_ti": round(statistics.median(walls["plain"]) / TASKS * 1000, 2),
                "plugin_ms_per_ti": round(statistics.median(walls["plugin"]) / TASKS * 1000, 2),
                "instrumented_ms_per_ti": round(statistics.median(walls["callbacks"]) / TASKS * 1000, 2),
                "median_overhead_ms": round(statistics.median(callback_ms), 2),
                "p90_overhead_ms": round(statistics.quantiles(callback_ms, n=10)[-1], 2),
                "ab_overhead_ms": round(statistics.median(per_pair_ms), 2),
                "plugin_median_overhead_ms": round(statistics.median(listener_ms), 2),
                "plugin_p90_overhead_ms": round(statistics.quantiles(listener_ms, n=10)[-1], 2),
                "plugin_ab_overhead_ms": round(statistics.median(plugin_pair_ms), 2),
                "documents_written": written,
                "documents_expected": expected,
                "cold_import_ms": round(cold["import_ms"], 1),
                "cold_first_emit_ms": round(cold["first_emit_ms"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
