"""Each private Airflow internal `include/airflow_compat.py` relies on, checked against the
installed Airflow: when an upgrade moves one, the failure names it and what depends on it."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

from include import airflow_compat


def test_the_secrets_masker_masks_what_a_task_registered() -> None:
    from airflow.sdk.log import mask_secret

    secret = f"compat-{uuid.uuid4().hex}"
    mask_secret(secret)  # what the SDK does when a task reads a connection's password
    masked = airflow_compat.mask_registered_secrets({"error": f"login failed for {secret}", "nested": [secret]})
    assert secret not in repr(masked), (
        "airflow.sdk._shared.secrets_masker._secrets_masker() no longer masks registered secrets: "
        "task-health documents, spool files and warnings would carry them"
    )


def test_supervisor_comms_is_where_the_task_runner_declares_it() -> None:
    from airflow.sdk.execution_time import task_runner

    assert "SUPERVISOR_COMMS" in task_runner.__annotations__, (
        "airflow.sdk.execution_time.task_runner no longer declares SUPERVISOR_COMMS: "
        "airflow_compat.supervised_by_execution_api() cannot tell a supervised process"
    )
    assert not airflow_compat.supervised_by_execution_api(), "a test process is not supervised"
    parameters = inspect.signature(task_runner.RuntimeTaskInstance.get_task_states).parameters
    assert {"dag_id", "run_ids"} <= set(parameters), (
        "RuntimeTaskInstance.get_task_states lost dag_id/run_ids: DAG-run documents lose task_states"
    )


def test_task_states_come_from_the_metadata_database_outside_a_task(airflow_db) -> None:
    states = airflow_compat.run_task_states("no_such_dag", f"manual__{uuid.uuid4().hex}")
    assert states == {}, "TaskInstance.task_id/map_index/state or create_session moved"


def test_a_runs_tries_come_from_the_metadata_database(airflow_db) -> None:
    from airflow.models.log import Log
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.utils.session import create_session

    from tests.integration.task_health.dags import load_dag

    started = datetime.now(UTC)
    run = load_dag("th_plain").test()
    with create_session() as session:
        session.add(
            Log(event="heartbeat timeout", task_instance=TaskInstanceKey("th_plain", "fail", run.run_id, 1, -1))
        )
    tries = {(row["task_id"], row["try_number"]): row for row in airflow_compat.run_tries("th_plain", run.run_id)}
    assert set(tries) == {("succeed", 1), ("fail", 1), ("flaky", 1), ("flaky", 2), ("skip", 1)}, (
        "TaskInstance/TaskInstanceHistory columns moved: the reconciler is blind"
    )
    first, second = tries[("flaky", 1)], tries[("flaky", 2)]
    assert first["earlier_try"] and not second["earlier_try"] and first["id"] != second["id"], "a try, its own id"
    assert str(getattr(tries[("fail", 1)]["state"], "value", tries[("fail", 1)]["state"])) == "failed"
    assert tries[("fail", 1)]["ending_log_event"] == "heartbeat timeout", "Log's columns moved"
    assert tries[("succeed", 1)]["ending_log_event"] is None and tries[("fail", 1)]["end_date"]
    recent = airflow_compat.tries_ended_since(started, ("failed", "up_for_retry"), limit=100)
    # An earlier try is archived as `failed` whether it failed or went up for retry.
    assert {(r["task_id"], r["try_number"]) for r in recent if r["run_id"] == run.run_id} == {("fail", 1), ("flaky", 1)}


def test_the_server_process_context_makes_the_sdk_read_the_metadata_db() -> None:
    probe = (
        "from include import airflow_compat\n"
        "import sys\n"
        "if sys.argv[1] == 'server': airflow_compat.read_connections_from_metadata_db()\n"
        "from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded\n"
        "print(sorted(type(b).__name__ for b in ensure_secrets_backend_loaded()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != airflow_compat.PROCESS_CONTEXT_VARIABLE}

    def backends(context: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe, context], env=env, capture_output=True, text=True, timeout=120, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    assert "MetastoreBackend" in backends("server"), (
        "_AIRFLOW_PROCESS_CONTEXT=server no longer makes the SDK read connections from the metadata DB: "
        "the commands (demo, evaluation, kibana import, delivery) cannot find elasticsearch_default"
    )
    assert "MetastoreBackend" not in backends("unset")


def test_the_listeners_a_process_registered_are_read_without_loading_plugins() -> None:
    """In a fresh process (the session's plugins folder holds the `task_health` plugin): nothing
    before any Airflow component built the core listener manager, the plugin's listener after."""
    probe = (
        "from include import airflow_compat\n"
        "def names(): return sorted(type(each).__name__ for each in airflow_compat.registered_core_listeners())\n"
        "before = names()\n"
        "from airflow.listeners.listener import get_listener_manager\n"
        "get_listener_manager()\n"
        "print(before, names())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[] ['SpoolDrainListener', 'TaskHealthListener']", (
        "airflow.listeners.listener.get_listener_manager is no longer a functools cache over a pluggy manager: "
        "DAG callbacks cannot see the plugin's listener and write every dag_run summary from cold\n"
        + done.stderr[-2000:]
    )
