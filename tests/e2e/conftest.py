"""A real Airflow (scheduler, dag processor, API server, triggerer: `airflow standalone`) for
end-to-end tests, in its own AIRFLOW_HOME, port and PostgreSQL database (never the `dag.test()`
tests' SQLite). Started once per session (≈ 30 s), stopped with its whole process group.

It writes task health and detection rows to the **secured** node (tests/secured.py) as its
least-privilege writer, the templates installed by the admin beforehand, as production runs.
Its task logs go to the open node (Airflow's own handler, switched on as `scripts/env.sh` does
it with AIRFLOW_TASK_LOGS_TO_ES=true), into an index of this session."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live import (
    BASE,
    E2E_DATABASE,
    E2E_PREFIX,
    E2E_TASK_LOGS_INDEX,
    OOM_CGROUP,
    OOM_LIMIT_BYTES,
    PORT,
    REMOTE_LOGGING_KEYS,
    SQLITE_CONNECT_ARGS,
    LiveAirflow,
    create_memory_cgroup,
    install_templates,
    postgres,
    standalone,
    task_logs_to_es_env,
)
from tests.integration.task_health.dags import OOM_CGROUP_VARIABLE
from tests.secured import SecuredNode
from tests.session import SESSION_DIR


@pytest.fixture(scope="session")
def e2e_database_url() -> Iterator[str]:
    """A database of this session on the local PostgreSQL (`scripts/postgres.sh`, started by
    `make test`), dropped at the end."""
    postgres("createdb", E2E_DATABASE)
    yield postgres("url", E2E_DATABASE)
    postgres("dropdb", E2E_DATABASE)


@pytest.fixture(scope="session")
def live_es(secured_node: SecuredNode) -> Iterator[Any]:
    """The secured node as its admin: what the live Airflow wrote, read back."""
    with secured_node.admin() as admin:
        yield admin


@pytest.fixture(scope="session")
def writer_login(secured_node: SecuredNode) -> tuple[str, str]:
    """The live Airflow's Elasticsearch login and password (which no log may show)."""
    fields = secured_node.fields("writer")
    return fields["login"], fields["password"]


@pytest.fixture(scope="session")
def live_airflow_env(es_url: str, e2e_database_url: str, secured_node: SecuredNode) -> dict[str, str]:
    """Environment of the live Airflow: its own home, port and PostgreSQL database, task health
    writing under its own index prefix as the secured node's writer, which may not touch templates."""
    home = SESSION_DIR / "airflow-e2e"
    return {
        # Less Airflow's remote logging (set below) and SQLite's connect arguments (scripts/env.sh).
        **{k: v for k, v in os.environ.items() if not k.startswith(REMOTE_LOGGING_KEYS) and k != SQLITE_CONNECT_ARGS},
        **task_logs_to_es_env(E2E_TASK_LOGS_INDEX),
        "TASK_HEALTH_INDEX_PREFIX": E2E_PREFIX,
        "TASK_HEALTH_SPOOL_DIR": str(home / "task_health"),
        "AIRFLOW_TASK_LOGS_INDEX": E2E_TASK_LOGS_INDEX,
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT": secured_node.connection_json("writer"),
        "TASK_HEALTH_MANAGE_TEMPLATES": "false",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": e2e_database_url,
        "AIRFLOW__API__PORT": str(PORT),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{BASE}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__EXPOSE_STACKTRACE": "True",  # a failed request says why, in the test output
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # A try whose supervisor died is failed after 45 s without a heartbeat (Airflow: 300 s),
        # well above the supervisor's heartbeat interval on a busy 2-core machine.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        OOM_CGROUP_VARIABLE: str(OOM_CGROUP),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }


@pytest.fixture(scope="session")
def live_airflow(live_airflow_env: dict[str, str], secured_node: SecuredNode) -> Iterator[LiveAirflow]:
    install_templates(live_airflow_env, secured_node.connection_json("admin"))
    with standalone(live_airflow_env, BASE) as live:
        yield live


@pytest.fixture(scope="module")
def oom_cgroup() -> Iterator[Path]:
    """The memory cgroup (200 MB) th_killed's out_of_memory task joins, removed afterwards."""
    if not create_memory_cgroup(OOM_CGROUP, OOM_LIMIT_BYTES):
        pytest.skip(f"cannot create a memory cgroup at {OOM_CGROUP} (needs root and a writable cgroup fs)")
    yield OOM_CGROUP
    for _ in range(30):  # the killed process leaves the cgroup once reaped
        try:
            OOM_CGROUP.rmdir()
            break
        except OSError:
            time.sleep(1)
