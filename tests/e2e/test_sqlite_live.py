"""`make up`'s default metadata DB, SQLite, under the real scheduler: a smoke test (the other
live tests run on PostgreSQL). Its own `airflow standalone`, on ports of its own, next to the
session's."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.e2e.live import PORT, SQLITE_CONNECT_ARGS, LiveAirflow, documents_of_run, install_templates, standalone
from tests.integration.task_health.dags import PLAIN_DOCUMENTS
from tests.session import SESSION_DIR

SQLITE_PORT = PORT + 1


@pytest.fixture(scope="module")
def sqlite_airflow(live_airflow_env: dict[str, str], secured_node) -> Iterator[LiveAirflow]:
    home = SESSION_DIR / "airflow-e2e-sqlite"
    base = f"http://localhost:{SQLITE_PORT}"
    env = {
        **{k: v for k, v in live_airflow_env.items() if k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"},
        **{k: v for k, v in os.environ.items() if k == SQLITE_CONNECT_ARGS},  # as scripts/env.sh sets it
        "AIRFLOW_HOME": str(home),
        "TASK_HEALTH_SPOOL_DIR": str(home / "task_health"),
        "AIRFLOW__API__PORT": str(SQLITE_PORT),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": "8795",  # the session's standalone has 8793
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "8796",  # and 8794
    }
    install_templates(env, secured_node.connection_json("admin"))
    with standalone(env, base) as live:
        assert (home / "airflow.db").is_file(), "the standalone is not on its SQLite file"
        yield live


def test_a_dag_runs_under_the_scheduler_on_sqlite(sqlite_airflow, live_es) -> None:
    run_id = sqlite_airflow.trigger("th_plain")
    assert sqlite_airflow.wait_for_run("th_plain", run_id) == "failed"  # th_plain fails one task on purpose
    docs = documents_of_run(live_es, run_id, expected=sum(PLAIN_DOCUMENTS.values()))
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    assert got == PLAIN_DOCUMENTS
