"""A backfill through the real scheduler on the Celery stack (issue 11): the pipeline against a
trivial DAG of the same shape (benchmarks/dags/backfill_twin.py: same tasks, pool and mapping,
no work), with task health on and off, in one run.

For each task-health mode the stack of `make up EXECUTOR=celery` (scripts/celery_stack.sh: two
workers, two slots each) is started fresh, on a state directory, metadata database, MLflow
registry and indices of its own, with the same demo data; both DAGs are then backfilled over
the same days, one after the other. A backfill's wall time is the server's: from the backfill's
creation to the end of its last run. Unpausing a DAG also starts its one scheduled run (for
yesterday, which has no data): it overlaps every arm alike.

    . scripts/env.sh && python -m benchmarks.bench_backfill [--days 30] [--regions 8] [--shard-size 4] [--rounds 1]

Targets: pipeline ≤ 1.5 x the trivial DAG; task health adds ≤ 5 % to the backfill's wall time.
Prints a table, then one JSON object with the ratios as the last line; each backfill's figures
also say whether it was bound by the CPU (the host's busy CPU seconds meanwhile) and where a
task instance's time went (`task_phases`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import psutil
import requests

from benchmarks.airflow_sandbox import BENCH_DAGS, PROJECT_DAGS
from include.anomaly.demo_data import DemoConfig, region_names, write_days

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PORT = 8831
FIRST = date(2026, 3, 2)
DAGS = ("hourly_anomaly_detection", "backfill_twin")


def script(name: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / name), *args], env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode:
        raise RuntimeError(f"{name} {' '.join(args)}: {result.stderr[-3000:]}")
    return result.stdout


def stack_env(state: Path, database: str, task_health: bool, es_port: int, prefix: str) -> dict[str, str]:
    bundles = [
        {"name": name, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle", "kwargs": {"path": str(p)}}
        for name, p in (("dags-folder", PROJECT_DAGS), ("bench-dags", BENCH_DAGS))
    ]
    return {
        **{k: v for k, v in os.environ.items() if k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"},
        "STATE_DIR": str(state),
        "AIRFLOW_HOME": str(state / "airflow"),
        "AIRFLOW_PORT": str(PORT),
        "AIRFLOW_DB_NAME": database,
        "REDIS_DB": "8",  # not the queue of a `make up EXECUTOR=celery` stack (0) or the e2e tests' (7)
        "WORKER_LOG_PORT_BASE": "8840",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "8845",
        "DATA_ROOT": (state / "data").as_uri(),
        "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow' / 'mlflow.db'}",
        "TASK_HEALTH_ADOPT_SPOOL_DIRS": str(state / "workers" / "*" / "task_health"),
        "TASK_HEALTH_INDEX_PREFIX": prefix,
        "ANOMALIES_INDEX": f"{prefix}_anomalies",
        "TASK_HEALTH_ENABLED": "true" if task_health else "false",
        "TASK_HEALTH_PLUGIN": "true" if task_health else "false",
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT": json.dumps(
            {"conn_type": "elasticsearch", "host": "localhost", "port": es_port, "schema": "http"}
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    }


def api(method: str, path: str, **kwargs) -> dict:
    response = requests.request(method, f"http://localhost:{PORT}/api/v2{path}", timeout=30, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else {}


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def host_busy_s() -> float:
    """CPU seconds this host's CPUs have been busy since boot (all processes: is the backfill
    bound by the CPU, or by waiting?)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


# A process's role, from its own or an ancestor's command line: the long-lived processes of the
# stack. Whatever is left of the host's CPU (Celery workers, their task processes, others) is
# `workers_and_tasks`: a task process is too short-lived to be sampled, but every second of its
# CPU is in the host's total.
ROLES = {
    "elasticsearch": re.compile(r"org\.elasticsearch\.bootstrap"),
    "scheduler": re.compile(r"\bairflow scheduler\b"),
    "api_server": re.compile(r"\bairflow api[-_]server\b"),  # its process title: "airflow api_server -- …"
    "dag_processor": re.compile(r"\bairflow dag-processor\b"),
    "triggerer": re.compile(r"\bairflow triggerer\b"),
    "postgres": re.compile(r"^postgres\b"),  # the postmaster, and its backends ("postgres: …")
    "redis": re.compile(r"^redis-server\b"),
}


def _role(process: psutil.Process) -> str | None:
    for candidate in [process, *process.parents()]:
        line = " ".join(Path(part).name if i < 2 else part for i, part in enumerate(candidate.cmdline()))
        if "celery worker" in line:
            return None
        for role, pattern in ROLES.items():
            if pattern.search(line):
                return role
    return None


def cpu_by_role() -> dict[int, tuple[str, float]]:
    """{pid: (role, CPU seconds so far, its reaped children's included)} of the stack's long-lived processes."""
    found = {}
    for process in psutil.process_iter():
        try:
            role = _role(process)
            if role is not None:
                times = process.cpu_times()
                found[process.pid] = (role, times.user + times.system + times.children_user + times.children_system)
        except psutil.Error:
            continue
    return found


def cpu_split(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], host_s: float) -> dict:
    """CPU seconds per role between two `cpu_by_role` snapshots, the rest of the host's as
    `workers_and_tasks` (a long-lived process that died meanwhile is counted there too)."""
    split: dict[str, float] = dict.fromkeys(ROLES, 0.0)
    for pid, (role, seconds) in after.items():
        split[role] += seconds - (before[pid][1] if pid in before else 0.0)
    split["workers_and_tasks"] = host_s - sum(split.values())
    return {role: round(seconds, 1) for role, seconds in split.items()}


def task_phases(dag_id: str, run_ids: list[str]) -> dict[str, float]:
    """Where a task instance's time goes, median over the backfill's tries (metadata DB times):
    scheduled → queued (the scheduler), queued → started (broker, worker, task process start-up
    up to the task's first call to the API server), started → ended (the task, its
    `on_execute` hooks included; a success is reported before the success hooks run)."""
    spans: dict[str, list[float]] = {"scheduled_to_queued_s": [], "queued_to_started_s": [], "started_to_ended_s": []}
    for run_id in run_ids:
        for ti in api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=500")["task_instances"]:
            stamps = [ti.get(k) for k in ("scheduled_when", "queued_when", "start_date", "end_date")]
            if None in stamps:
                continue
            scheduled, queued, started, ended = (parse(t) for t in stamps)
            spans["scheduled_to_queued_s"].append((queued - scheduled).total_seconds())
            spans["queued_to_started_s"].append((started - queued).total_seconds())
            spans["started_to_ended_s"].append((ended - started).total_seconds())
    return {name: round(statistics.median(values), 3) for name, values in spans.items() if values}


def backfill(dag_id: str, days: list[date], conf: dict[str, object], timeout: float) -> dict[str, float]:
    """Backfill `days` of `dag_id` and wait for every run; the server's wall time and counts."""
    deadline = time.monotonic() + 120
    while True:
        try:
            api("GET", f"/dags/{dag_id}")
            break
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
    api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    created = api(
        "POST",
        "/backfills",
        json={
            "dag_id": dag_id,
            "from_date": f"{days[0].isoformat()}T00:00:00Z",
            "to_date": f"{days[-1].isoformat()}T00:00:00Z",
            "max_active_runs": 4,
            "dag_run_conf": conf,
        },
    )
    busy0, roles0 = host_busy_s(), cpu_by_role()
    deadline = time.monotonic() + timeout
    while True:
        runs = api("GET", f"/dags/{dag_id}/dagRuns?run_type=backfill&limit=500")["dag_runs"]
        if len(runs) == len(days) and all(r["state"] in {"success", "failed"} for r in runs):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{dag_id}: backfill not done within {timeout} s")
        time.sleep(2)
    failed = sum(r["state"] == "failed" for r in runs)
    if failed:
        raise RuntimeError(f"{dag_id}: {failed} of {len(runs)} backfill runs failed")
    wall = (max(parse(r["end_date"]) for r in runs) - parse(created["created_at"])).total_seconds()
    cpu = host_busy_s() - busy0
    split = cpu_split(roles0, cpu_by_role(), cpu)
    phases = task_phases(dag_id, [r["dag_run_id"] for r in runs])
    return {"wall_s": round(wall, 1), "runs": len(runs), "s_per_run": round(wall / len(runs), 2),
            "host_cpu_s": round(cpu, 1), **phases, "cpu_s_by_role": split}  # fmt: skip


def one_mode(task_health: bool, days: list[date], regions: int, shard_size: int, es_port: int) -> dict[str, dict]:
    state = Path(tempfile.mkdtemp(prefix=f"bench-backfill-{'on' if task_health else 'off'}-"))
    database = f"airflow_bench_{uuid.uuid4().hex[:8]}"
    prefix = f"bench-backfill-{uuid.uuid4().hex[:8]}"
    write_days(state / "data", days[0] - timedelta(days=35), days[-1] + timedelta(days=1), region_names(regions),
               DemoConfig())  # fmt: skip
    env = stack_env(state, database, task_health, es_port, prefix)
    script("postgres.sh", "start")
    script("celery_stack.sh", "start", env=env)
    try:
        results = {}
        for dag_id in DAGS:
            conf: dict[str, object] = {"shard_size": shard_size} | (
                {"regions": regions} if dag_id == "backfill_twin" else {}
            )
            results[dag_id] = backfill(dag_id, days, conf, timeout=60 * len(days) + 600)
            print(f"task health {'on ' if task_health else 'off'} {dag_id}: {results[dag_id]}", file=sys.stderr)
        return results
    finally:
        script("celery_stack.sh", "stop", env=env)
        script("postgres.sh", "dropdb", database)
        requests.delete(f"http://localhost:{es_port}/{prefix}*", timeout=30)


def mode_order(rounds: int, first: str) -> list[str]:
    """The modes in the order they run: each round swaps which goes first, so that neither mode
    always gets the fresher machine."""
    pair = ["on", "off"] if first == "on" else ["off", "on"]
    return [mode for r in range(rounds) for mode in (pair if r % 2 == 0 else pair[::-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--shard-size", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=1, help="ratios are of the median wall times over the rounds")
    parser.add_argument("--first", choices=("on", "off"), default="on", help="the mode the first round runs first")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ES_PORT", "9200")), help="Elasticsearch")
    args = parser.parse_args()
    days = [FIRST + timedelta(days=i) for i in range(args.days)]
    runs = [(mode, one_mode(mode == "on", days, args.regions, args.shard_size, args.port))
            for mode in mode_order(args.rounds, args.first)]  # fmt: skip
    pipeline, twin = DAGS

    def wall(mode: str, dag_id: str) -> float:
        return float(statistics.median(results[dag_id]["wall_s"] for m, results in runs if m == mode))

    ratios = {
        "pipeline_over_trivial_on": wall("on", pipeline) / wall("on", twin),
        "pipeline_over_trivial_off": wall("off", pipeline) / wall("off", twin),
        "task_health_pipeline": wall("on", pipeline) / wall("off", pipeline),
        "task_health_trivial": wall("on", twin) / wall("off", twin),
    }
    print(f"{'task health':<12} {'dag':<26} {'wall s':>8} {'s/run':>7} {'host CPU s':>10}")
    for mode, results in runs:
        for dag_id, f in results.items():
            print(f"{mode:<12} {dag_id:<26} {f['wall_s']:>8} {f['s_per_run']:>7} {f['host_cpu_s']:>10}")
    for name, value in ratios.items():
        print(f"{name}: {value:.3f}")
    shape = {"days": args.days, "regions": args.regions, "shard_size": args.shard_size, "workers": 2, "slots": 4}
    walls = [{"mode": mode, **results} for mode, results in runs]
    print(json.dumps({**shape, "rounds": args.rounds, "walls": walls, **{k: round(v, 3) for k, v in ratios.items()}}))


if __name__ == "__main__":
    main()
