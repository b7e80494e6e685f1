"""Every private Airflow internal this project relies on, in one place.

Airflow 3 keeps these outside its public interface, so an upgrade may move them without
notice. `include/` and `dags/` use each one only through this module (the settings loader,
`scripts/load_airflow_settings.py`, writes connections with `create_session` as Airflow's own
CLI does), and `tests/integration/test_airflow_compat.py` checks each against the installed
Airflow, failing with the internal's name when it moved:
- the SDK's secrets masker (`airflow.sdk._shared.secrets_masker`): the secrets a task's
  connections registered, masked out of what the project ships;
- `task_runner.SUPERVISOR_COMMS`: set in a process the Execution API supervises (a task or a
  DAG-processor callback), absent in `dag.test()` and in commands;
- the metadata database (`airflow.utils.session`, `airflow.models.TaskInstance`): task states
  of a run where no Execution API is connected, and its tries for the reconciler;
- `_AIRFLOW_PROCESS_CONTEXT=server`: makes the SDK read connections from the metadata
  database in a command run outside a task, as the scheduler does.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar, cast

PROCESS_CONTEXT_VARIABLE = "_AIRFLOW_PROCESS_CONTEXT"

# What the project redacts: messages, and JSON objects (documents, rejection reasons). The
# masker gives back a string for a string and a dict for a dict (it walks the values).
Redactable = TypeVar("Redactable", str, dict[str, Any])
# {task instance key: state}: task ids (`<task_id>_<map_index>` when mapped) through the
# Execution API, (task_id, map_index) from the metadata database.
TaskStates = dict[str | tuple[str, int], str | None]


def mask_registered_secrets(value: Redactable) -> Redactable:
    """`value` (a string or a nested structure) with every secret registered with Airflow's
    masker in this process masked. With nothing registered the walk is skipped."""
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    # The masker is typed for any structure (str | dict | list | tuple in, any of them out).
    return value if masker.replacer is None else cast(Redactable, masker.redact(value))


def supervised_by_execution_api() -> bool:
    """Whether this process talks to Airflow through the Execution API (tasks, DAG-processor
    callbacks), rather than through the metadata database or not at all."""
    from airflow.sdk.execution_time import task_runner

    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def run_task_states(dag_id: str, run_id: str) -> TaskStates:
    """{task instance key: state} of one DAG run: through the Execution API where this process
    is supervised, else from the metadata database the process is configured with."""
    if supervised_by_execution_api():
        from airflow.sdk.execution_time import task_runner

        states = task_runner.RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
        return dict(states.get(run_id, {}))
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.query(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
        )
        return {(task_id, map_index): state for task_id, map_index, state in rows}


def ended_task_tries(dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The current try of every task instance of a run, as plain values, from the metadata
    database (the scheduler's view; for the reconciler, which runs there)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    fields = ("id", "dag_id", "run_id", "task_id", "map_index", "try_number", "max_tries", "state",
              "start_date", "end_date", "hostname", "operator")  # fmt: skip
    with create_session() as session:
        rows = session.query(*(getattr(TaskInstance, f) for f in fields)).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
        )
        return [dict(zip(fields, row, strict=True)) for row in rows]


def read_connections_from_metadata_db() -> None:
    """Let a command (not a task) read Airflow connections from the metadata database as well
    as from the environment; a caller that set the context itself keeps its choice."""
    os.environ.setdefault(PROCESS_CONTEXT_VARIABLE, "server")
