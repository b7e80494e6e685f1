"""What a task process forked from a LocalExecutor worker pays for its first task-health
documents, with and without the scheduler's import of the shipping path before it forks
(`listener._import_for_task_processes`, run by the plugin's `on_starting`).

Each mode runs in a fresh parent interpreter that has loaded what a LocalExecutor worker has
(Airflow's SDK and task supervisor, the task-health listener the scheduler's plugins loaded);
`warm` then runs the listener's pre-fork import, `cold` does not. The parent forks `--children`
processes one after the other (as a worker forks its task processes); each ships a `started`
and a `completed` document to the local Elasticsearch through the project's emitter, from a
fresh shipper (client, template check, bulk), and reports its CPU and wall time for it. Prints a
table, then one JSON object with the medians and the ratios warm / cold as its last line.

    . scripts/env.sh && python -m benchmarks.bench_fork [--children 15] [--port 9200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from benchmarks import airflow_sandbox

PARENT = r"""
import json, os, sys, time
import airflow.sdk  # a worker has the SDK and the task supervisor loaded, and its logging set up
import airflow.sdk.execution_time.supervisor, airflow.sdk.execution_time.task_runner
from airflow.sdk._shared.logging import structlog as _
import include.task_health.listener as listener  # and the plugin's listener
if sys.argv[1] == "warm":  # what the plugin's `on_starting` does in the scheduler's Job
    from types import SimpleNamespace
    listener._import_for_task_processes(SimpleNamespace(job_type="SchedulerJob"))
from datetime import UTC, datetime
from include.task_health.document import AirflowRef, HealthEvent
from include.task_health.emitter import emit

for child in range(int(sys.argv[2])):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        wall, cpu = time.perf_counter(), time.process_time()
        ref = AirflowRef(dag_id="bench_fork", run_id=f"{sys.argv[1]}-{os.getpid()}", task_id="t", try_number=1,
                         map_index=-1)
        delivered = sum(emit(HealthEvent("task_execution", status, datetime.now(UTC), ref, "bench")).delivered
                        for status in ("started", "completed"))
        figures = {"wall_ms": (time.perf_counter() - wall) * 1000, "cpu_ms": (time.process_time() - cpu) * 1000,
                   "delivered": delivered}
        os.write(write, json.dumps(figures).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        print(answer.read(), flush=True)
    os.waitpid(pid, 0)
"""


def children(mode: str, count: int) -> list[dict[str, float]]:
    done = subprocess.run([sys.executable, "-c", PARENT, mode, str(count)], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"{mode} parent failed: {done.stderr[-3000:]}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if len(rows) != count or any(r["delivered"] != 2 for r in rows):
        raise SystemExit(f"{mode}: {len(rows)} children reported, not every one delivered both documents: {rows}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=15)
    parser.add_argument("--port", type=int, default=int(os.environ.get("ES_PORT", "9200")))
    args = parser.parse_args()
    prefix = airflow_sandbox.point_task_health_at(args.port, "fork")
    results = {}
    from elasticsearch import Elasticsearch

    try:
        for mode in ("cold", "warm"):
            rows = children(mode, args.children)[1:]  # the first child also warms the node's caches
            results[mode] = {k: statistics.median(r[k] for r in rows) for k in ("cpu_ms", "wall_ms")}
            print(f"{mode}: first two documents of a forked task process: {results[mode]['cpu_ms']:.1f} ms CPU, "
                  f"{results[mode]['wall_ms']:.1f} ms wall (median of {len(rows)})")  # fmt: skip
    finally:  # a failed mode leaves nothing behind either
        airflow_sandbox.drop_task_health(Elasticsearch(f"http://127.0.0.1:{args.port}", request_timeout=30), prefix)
    print(
        json.dumps(
            {
                "benchmark": "bench_fork",
                "children": args.children,
                "cold_cpu_ms": round(results["cold"]["cpu_ms"], 1),
                "warm_cpu_ms": round(results["warm"]["cpu_ms"], 1),
                "cold_wall_ms": round(results["cold"]["wall_ms"], 1),
                "warm_wall_ms": round(results["warm"]["wall_ms"], 1),
                "cpu_ratio_warm_over_cold": round(results["warm"]["cpu_ms"] / results["cold"]["cpu_ms"], 3),
                "wall_ratio_warm_over_cold": round(results["warm"]["wall_ms"] / results["cold"]["wall_ms"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
