"""The CeleryExecutor stack of `make up EXECUTOR=celery` (scripts/celery_stack.sh: PostgreSQL,
Redis, scheduler, DAG processor, triggerer, API server, two workers each with a STATE_DIR and
spool of its own), started by that script on ports and a database of this session.

- A 10-day backfill of the pipeline spread over both workers, with the session's Elasticsearch
  node stopped in the middle and started again: with no manual command, every worker's spool
  is empty within 120 s of the node's return, every document the metadata DB's task instances
  call for is in Elasticsearch exactly once, each day's detection rows too, and the Parquet
  outputs equal a LocalExecutor run's of the same days on the same data.
- A worker stopped for good while its spool holds events: a drainer that adopts the workers'
  spools (TASK_HEALTH_ADOPT_SPOOL_DIRS, as on a shared volume) delivers them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, region_names, write_days
from include.delivery.spool import Spool
from tests.e2e.live import (
    REMOTE_LOGGING_KEYS,
    SQLITE_CONNECT_ARGS,
    LiveAirflow,
    install_templates,
    postgres,
    standalone,
)
from tests.session import ES_PORT, PROJECT_ROOT, SESSION_DIR, SESSION_INDEX_PREFIX
from tests.support import connection_json, delete_indices

CELERY_PORT = 8801
LOCAL_PORT = 8802  # the LocalExecutor reference run's standalone
DAG_ID = "hourly_anomaly_detection"
REGIONS = region_names(4)
FIRST = date(2026, 3, 2)
DAYS = [FIRST + timedelta(days=i) for i in range(10)]
SHARD_SIZE = 2  # two detect shards a day: work for both workers
TASK_STATES_WITH_DOCUMENTS = {"success": "completed", "failed": "failed", "up_for_retry": "up_for_retry"}
SUFFIX = uuid.uuid4().hex[:8]
CELERY_DB = f"airflow_celery_{SUFFIX}"
LOCAL_DB = f"airflow_local_{SUFFIX}"


def stack_script(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "celery_stack.sh"), *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def elasticsearch(command: str) -> None:
    result = subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "elasticsearch.sh"), command], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"elasticsearch.sh {command}: {result.stderr[-2000:]}"


def base_env(state: Path, prefix: str, anomalies_index: str) -> dict[str, str]:
    """A stack of its own: state, data, MLflow registry, indices; no remote task logs."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(REMOTE_LOGGING_KEYS) and k != SQLITE_CONNECT_ARGS},
        "STATE_DIR": str(state),
        "AIRFLOW_HOME": str(state / "airflow"),
        "DATA_ROOT": (state / "data").as_uri(),
        "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
        "TASK_HEALTH_SPOOL_DIR": str(state / "task_health"),  # a Celery worker gets its own
        "TASK_HEALTH_INDEX_PREFIX": prefix,
        "ANOMALIES_INDEX": anomalies_index,
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT": connection_json(ES_PORT),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__EXPOSE_STACKTRACE": "True",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    }


@dataclass
class Stack:
    airflow: LiveAirflow
    env: dict[str, str]
    state: Path
    prefix: str
    anomalies_index: str

    @property
    def data_root(self) -> Path:
        return self.state / "data"

    def worker_spools(self) -> dict[str, list[Spool]]:
        """Each worker's spools (task health's, the detection rows'), by worker."""
        return {
            worker.name: [Spool(worker / "task_health"), Spool(worker / "task_health" / "anomalies")]
            for worker in sorted((self.state / "workers").glob("worker-*"))
        }

    def spooled(self) -> dict[str, int]:
        return {name: sum(s.count() for s in spools) for name, spools in self.worker_spools().items()}

    def tasks_received(self) -> dict[str, int]:
        """Workloads each worker's Celery log says it received."""
        logs = sorted((self.state / "logs").glob("celery-worker-*.log"))
        return {path.stem.removeprefix("celery-"): path.read_text().count("execute_workload[") for path in logs}

    def drainers_started(self) -> dict[str, bool]:
        """Whether each worker's log says its own drainer started (Celery's worker_ready)."""
        return {
            worker: f"draining the spools under {self.state / 'workers' / worker / 'task_health'}"
            in (self.state / "logs" / f"celery-{worker}.log").read_text()
            for worker in self.worker_spools()
        }

    def database_url(self, name: str) -> str:
        return postgres("url", name)


def prepare_data(root: Path) -> None:
    write_days(root, FIRST - timedelta(days=35), DAYS[-1] + timedelta(days=1), REGIONS, DemoConfig())


@pytest.fixture(scope="module")
def celery_stack(es_url: str) -> Iterator[Stack]:
    state = SESSION_DIR / "celery-stack"
    prefix, anomalies = f"{SESSION_INDEX_PREFIX}_celery", f"{SESSION_INDEX_PREFIX}_celery_anomalies"
    env = {
        **base_env(state, prefix, anomalies),
        "AIRFLOW_PORT": str(CELERY_PORT),
        "AIRFLOW_DB_NAME": CELERY_DB,
        "REDIS_DB": "7",  # a `make up EXECUTOR=celery` stack on the same Redis keeps database 0
        "WORKER_LOG_PORT_BASE": "8810",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "8815",
    }
    env.pop("TASK_HEALTH_ADOPT_SPOOL_DIRS")  # the session has none; scripts/env.sh's default adopts the workers'
    install_templates(env)
    started = stack_script("start", env=env)
    try:
        assert started.returncode == 0, f"celery_stack.sh start:\n{started.stderr[-4000:]}"
        prepare_data(state / "data")
        yield Stack(
            LiveAirflow(state / "airflow", env, f"http://localhost:{CELERY_PORT}"), env, state, prefix, anomalies
        )
    finally:
        stack_script("stop", env=env)
        postgres("dropdb", CELERY_DB)


def backfill(airflow: LiveAirflow, days: list[date]) -> None:
    airflow.wait_for_dag(DAG_ID)
    airflow.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    body = {
        "dag_id": DAG_ID,
        "from_date": f"{days[0].isoformat()}T00:00:00Z",
        "to_date": f"{days[-1].isoformat()}T00:00:00Z",
        "reprocess_behavior": "none",
        "max_active_runs": 4,
        "dag_run_conf": {"shard_size": SHARD_SIZE},
    }
    airflow.api("POST", "/backfills", json=body)


def runs_by_state(airflow: LiveAirflow) -> Counter[str]:
    runs = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns?run_type=backfill&limit=100")["dag_runs"]
    return Counter(r["state"] for r in runs)


def wait_for_backfill(airflow: LiveAirflow, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (states := runs_by_state(airflow))["success"] + states["failed"] < len(DAYS):
        assert time.monotonic() < deadline, f"backfill not finished within {timeout} s: {states}"
        time.sleep(3)
    assert states == {"success": len(DAYS)}, states


def expected_task_documents(database_url: str) -> Counter[tuple]:
    """(event, status, run_id, task_id, map_index, try_number) of every document the backfill's
    task instances in the metadata DB call for: a `started` and a terminal document per try that ran.
    An earlier try is archived in task_instance_history as `failed` even when a retry followed
    it, which task health calls `up_for_retry` (the reconciler's rule too)."""
    query = sa.text(
        "select run_id, task_id, map_index, try_number, max_tries, state, false as earlier from task_instance "
        "where dag_id = :dag and run_id like 'backfill%' union all "
        "select run_id, task_id, map_index, try_number, max_tries, state, true from task_instance_history "
        "where dag_id = :dag and run_id like 'backfill%'"
    )
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(query, {"dag": DAG_ID}).all()
    finally:
        engine.dispose()
    expected: Counter[tuple] = Counter()
    for run_id, task_id, map_index, try_number, max_tries, state, earlier in rows:
        if state not in TASK_STATES_WITH_DOCUMENTS:
            continue
        status = TASK_STATES_WITH_DOCUMENTS[state]
        if earlier and status == "failed" and try_number <= max_tries:
            status = "up_for_retry"
        expected[("task_execution", "started", run_id, task_id, map_index, try_number)] += 1
        expected[("task_execution", status, run_id, task_id, map_index, try_number)] += 1
    return expected


def task_documents(es, prefix: str) -> Counter[tuple]:
    """The same key of every `task_execution` document of the backfill's runs in Elasticsearch."""
    es.indices.refresh(index=f"{prefix}-*")
    query = {"bool": {"filter": [{"term": {"event": "task_execution"}}, {"prefix": {"airflow.run_id": "backfill"}}]}}
    hits = es.search(index=f"{prefix}-*", size=10_000, query=query)["hits"]["hits"]
    return Counter(
        (d["event"], d["status"], d["airflow"]["run_id"], d["airflow"]["task_id"], d["airflow"]["map_index"],
         d["airflow"]["try_number"])
        for d in (h["_source"] for h in hits)
    )  # fmt: skip


def partition(root: Path, day: date) -> pd.DataFrame:
    with open(layout.anomalies_file(root, day), "rb") as handle:
        rows = pd.read_parquet(handle)
    return rows.drop(columns="run_id").sort_values("region").reset_index(drop=True)


@pytest.mark.timeout(1800)  # two 10-day backfills of the real pipeline at once on 2 cores
def test_a_backfill_over_both_workers_survives_an_elasticsearch_outage(celery_stack: Stack, es) -> None:
    airflow = celery_stack.airflow
    assert celery_stack.drainers_started() == {"worker-1": True, "worker-2": True}
    with local_executor_backfill(es) as (local, local_outputs):
        backfill(airflow, DAYS)
        drained_after = outage_in_the_middle(celery_stack)
        wait_for_backfill(airflow, timeout=1200)
        received = celery_stack.tasks_received()
        assert len(received) == 2 and all(received.values()), f"both workers must run tasks: {received}"
        assert_every_document_exactly_once(celery_stack, es)
        wait_for_backfill(local, timeout=600)
    print(f"spools drained {drained_after:.0f} s after Elasticsearch came back; tasks per worker: {received}")
    for day in DAYS:
        pd.testing.assert_frame_equal(partition(celery_stack.data_root, day), partition(local_outputs, day))


def outage_in_the_middle(stack: Stack) -> float:
    """Stop the node once two runs are done, start it again once the workers spooled events;
    how long after its return the workers' spools were empty (at most 120 s)."""
    deadline = time.monotonic() + 900
    while runs_by_state(stack.airflow)["success"] < 2:
        assert time.monotonic() < deadline, "the backfill did not get going"
        time.sleep(2)
    elasticsearch("stop")
    try:
        while sum(stack.spooled().values()) < 10:  # tasks keep running, their events are spooled
            assert time.monotonic() < deadline, f"nothing spooled with Elasticsearch down: {stack.spooled()}"
            time.sleep(2)
    finally:
        elasticsearch("start")
    back = time.monotonic()
    while any(stack.spooled().values()):
        assert time.monotonic() - back < 120, f"spools not drained 120 s after the return: {stack.spooled()}"
        time.sleep(2)
    return time.monotonic() - back


def assert_every_document_exactly_once(stack: Stack, es) -> None:
    """Task documents as the metadata DB's task instances call for (waiting up to 120 s for the
    last runs' documents), and each day's detection rows, in Elasticsearch exactly once."""
    deadline = time.monotonic() + 120
    while (got := task_documents(es, stack.prefix)) != (
        expected := expected_task_documents(stack.database_url(CELERY_DB))
    ):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"documents differ from the metadata DB: missing {expected - got}, extra {got - expected}"
            )
        time.sleep(3)
    assert max(got.values()) == 1, "each document exactly once"
    es.indices.refresh(index=stack.anomalies_index)
    for day in DAYS:
        rows = es.count(index=stack.anomalies_index, query={"term": {"date": day.isoformat()}})["count"]
        assert rows == len(REGIONS), f"{day}: {rows} detection rows in Elasticsearch, {len(REGIONS)} expected"


@contextlib.contextmanager
def local_executor_backfill(es) -> Iterator[tuple[LiveAirflow, Path]]:
    """The same days on the same data through a LocalExecutor standalone on PostgreSQL, with a
    registry of its own, backfilling while the Celery stack does (the machine's two cores are
    shared, the wall time is not added); the standalone and where its Parquet outputs go."""
    state = SESSION_DIR / "local-reference"
    env = {
        **base_env(state, f"{SESSION_INDEX_PREFIX}_local", f"{SESSION_INDEX_PREFIX}_local_anomalies"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres("url", LOCAL_DB),
        "AIRFLOW__API__PORT": str(LOCAL_PORT),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{LOCAL_PORT}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": "8816",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "8817",
    }
    postgres("createdb", LOCAL_DB)
    try:
        prepare_data(state / "data")
        with standalone(env, f"http://localhost:{LOCAL_PORT}") as airflow:
            airflow.api("POST", "/pools", json={"name": "model_registry", "slots": 1, "include_deferred": False})
            backfill(airflow, DAYS)
            yield airflow, state / "data"
    finally:
        postgres("dropdb", LOCAL_DB)
        delete_indices(es, f"{SESSION_INDEX_PREFIX}_local*")


def test_the_spool_of_a_worker_stopped_for_good_reaches_elasticsearch(celery_stack: Stack, es) -> None:
    """worker-2 leaves for good with events in its spool (written there as a task under an
    outage would have): a drainer that adopts the workers' spools (the scheduler's host, here
    also the DAG processor, triggerer and worker-1) delivers them."""
    from include.task_health.document import document_id

    stopped = stack_script("stop-worker", "2", env=celery_stack.env, timeout=120)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    spool = celery_stack.worker_spools()["worker-2"][0]
    run_id = f"manual__left_behind_{SUFFIX}"
    docs = [
        {"event": "task_execution", "status": "completed", "timestamp": "2026-03-02T00:00:00+00:00",
         "application_name": "e2e", "airflow": {"dag_id": "gone", "run_id": run_id, "task_id": f"t{i}",
                                                "map_index": -1, "try_number": 1}}
        for i in range(5)
    ]  # fmt: skip
    spool.append([{"_index": f"{celery_stack.prefix}-2026.03", "_id": document_id(d), "_source": d} for d in docs])
    assert spool.count() == 5
    deadline = time.monotonic() + 60  # the drainer looks every 10 s
    while spool.count():
        assert time.monotonic() < deadline, "the scheduler's drainer did not take the gone worker's spool"
        time.sleep(1)
    es.indices.refresh(index=f"{celery_stack.prefix}-*")
    hits = es.search(index=f"{celery_stack.prefix}-*", query={"term": {"airflow.run_id": run_id}}, size=10)
    assert hits["hits"]["total"]["value"] == 5
