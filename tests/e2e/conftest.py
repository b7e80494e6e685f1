"""A real Airflow (scheduler, dag processor, API server, triggerer: `airflow standalone`) for
end-to-end tests, in its own AIRFLOW_HOME and port so it never shares a metadata DB with the
`dag.test()` tests. Started once per session (≈ 30 s), stopped with its whole process group.
Its task logs also go to Elasticsearch, switched on as `scripts/env.sh` does it
(AIRFLOW_TASK_LOGS_TO_ES=true), into an index of this session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.live import (
    BASE,
    E2E_PASSWORD,
    E2E_PREFIX,
    E2E_TASK_LOGS_INDEX,
    OOM_CGROUP,
    OOM_LIMIT_BYTES,
    PORT,
    REMOTE_LOGGING_KEYS,
    LiveAirflow,
    create_memory_cgroup,
    healthy,
    stop_group,
    task_logs_to_es_env,
)
from tests.integration.task_health.dags import OOM_CGROUP_VARIABLE
from tests.session import ES_PORT, PROJECT_ROOT, SESSION_DIR
from tests.support import connection_json


@pytest.fixture(scope="session")
def live_airflow_env(es_url: str) -> dict[str, str]:
    """Environment of the live Airflow: its own home and port, task health writing under its
    own index prefix through a connection with a (random) password."""
    home = SESSION_DIR / "airflow-e2e"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(REMOTE_LOGGING_KEYS)},
        **task_logs_to_es_env(E2E_TASK_LOGS_INDEX),
        "TASK_HEALTH_INDEX_PREFIX": E2E_PREFIX,
        "TASK_HEALTH_SPOOL_DIR": str(home / "task_health"),
        "AIRFLOW_TASK_LOGS_INDEX": E2E_TASK_LOGS_INDEX,
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT": connection_json(ES_PORT, login="writer", password=E2E_PASSWORD),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__API__PORT": str(PORT),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{BASE}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__EXPOSE_STACKTRACE": "True",  # a failed request says why, in the test output
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # A try whose supervisor died is failed after 45 s without a heartbeat (Airflow: 300 s);
        # well above the supervisor's heartbeat interval, even with the API server waiting on SQLite.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "45",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        OOM_CGROUP_VARIABLE: str(OOM_CGROUP),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }


@pytest.fixture(scope="session")
def live_airflow(live_airflow_env: dict[str, str]) -> Iterator[LiveAirflow]:
    home = Path(live_airflow_env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # As a deployment does before its first run: the index templates, task logs' included.
    subprocess.run(
        [sys.executable, "-m", "include.stack.delivery", "install-templates"],
        env=live_airflow_env,
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    log_path = home / "standalone.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            ["airflow", "standalone"],
            env=live_airflow_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while not healthy():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"airflow standalone did not become healthy:\n{log_path.read_text()[-4000:]}")
            time.sleep(2)
        yield LiveAirflow(home, live_airflow_env)
    finally:
        stop_group(process)


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
