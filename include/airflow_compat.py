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
- the metadata database (`airflow.utils.session`, `airflow.models.TaskInstance`,
  `TaskInstanceHistory`, `Log`): task states of a run where no Execution API is connected, and
  for the reconciler the tries of a run or of the last minutes, with the audit-log entry
  Airflow writes when it ends a try itself (heartbeat timeout, state mismatch);
- `_AIRFLOW_PROCESS_CONTEXT=server`: makes the SDK read connections from the metadata
  database in a command run outside a task, as the scheduler does;
- the core listener manager (`airflow.listeners.listener.get_listener_manager`, a cached
  function holding a pluggy manager): which listeners this process already registered.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
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


def registered_core_listeners() -> list[object]:
    """The listeners Airflow core's listener manager holds in this process, if the manager was
    built here already (every Airflow job builds it to announce its start, and the DAG
    processor's parsing children inherit it); never builds it, which would load every plugin."""
    listeners = sys.modules.get("airflow.listeners.listener")
    if listeners is None or not listeners.get_listener_manager.cache_info().currsize:
        return []
    return list(listeners.get_listener_manager().pm.get_plugins())


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


TRY_FIELDS = ("id", "dag_id", "run_id", "task_id", "map_index", "try_number", "max_tries", "state",
              "start_date", "end_date", "hostname", "operator")  # fmt: skip
# What Airflow writes to its audit log (`log` table) when it ends a try the task did not end
# itself: the scheduler found no heartbeat, or the executor reported an end the task never did
# (after a heartbeat timeout both are written: the first one listed is the cause).
ENDING_LOG_EVENTS = ("heartbeat timeout", "state mismatch")
# What a try's row gets from its DAG run: {row key: DagRun column}.
RUN_FIELDS = {"run_type": "run_type", "logical_date": "logical_date", "data_interval_start": "data_interval_start",
              "data_interval_end": "data_interval_end", "run_start_date": "start_date"}  # fmt: skip


def run_tries(dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every try of every task instance of a run (current ones and earlier ones, from
    `task_instance_history`), as plain values (see `_tries`)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory

    return _tries(
        lambda table: (table.dag_id == dag_id, table.run_id == run_id), (TaskInstance, TaskInstanceHistory), None
    )


def tries_ended_since(since: datetime, states: tuple[str, ...], limit: int) -> list[dict[str, Any]]:
    """Tries of any DAG in one of `states` that ended at or after `since`, oldest end first, at
    most `limit` of each table (current tries, earlier tries)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory

    return _tries(
        lambda table: (table.state.in_(states), table.end_date >= since), (TaskInstance, TaskInstanceHistory), limit
    )


def _tries(where: Callable[[Any], tuple[Any, ...]], tables: tuple[Any, ...], limit: int | None) -> list[dict[str, Any]]:
    """Rows of `tables` (TaskInstance, TaskInstanceHistory) matching `where(table)` as dicts of
    TRY_FIELDS (`id`: the try's own id) and their run's RUN_FIELDS, each with `earlier_try` (a
    history row: a later try exists; Airflow archives an `up_for_retry` try as `failed`) and
    `ending_log_event`: the ENDING_LOG_EVENTS entry Airflow wrote for that try, if any (the
    metadata DB keeps no exit code or signal)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.log import Log
    from airflow.utils.session import create_session

    rows: list[dict[str, Any]] = []
    with create_session() as session:
        for table in tables:
            # A history row's `id` is a Python property; the try's id is its `task_instance_id`.
            earlier = hasattr(table, "task_instance_id")
            id_column = table.task_instance_id if earlier else table.id
            columns = [id_column if f == "id" else getattr(table, f) for f in TRY_FIELDS]
            query = session.query(*columns).filter(*where(table)).order_by(table.end_date)
            rows += [dict(zip(TRY_FIELDS, row, strict=True), earlier_try=earlier) for row in query.limit(limit)]
        runs = {(row["dag_id"], row["run_id"]) for row in rows}
        events: dict[tuple[Any, ...], str] = {}
        run_fields: dict[tuple[str, str], dict[str, Any]] = {}
        if runs:
            dag_ids, run_ids = sorted({dag_id for dag_id, _ in runs}), sorted({run_id for _, run_id in runs})
            columns = [getattr(DagRun, f) for f in ("dag_id", "run_id", *RUN_FIELDS.values())]
            for dag_id, run_id, *values in session.query(*columns).filter(
                DagRun.dag_id.in_(dag_ids), DagRun.run_id.in_(run_ids)
            ):
                run_fields[(dag_id, run_id)] = dict(zip(RUN_FIELDS, values, strict=True))
            logged = session.query(Log.dag_id, Log.run_id, Log.task_id, Log.map_index, Log.try_number, Log.event)
            logged = logged.filter(
                Log.event.in_(ENDING_LOG_EVENTS),
                Log.dag_id.in_(dag_ids),
                Log.run_id.in_(run_ids),
            )
            for entry in sorted(logged, key=lambda e: ENDING_LOG_EVENTS.index(e[5]), reverse=True):
                events[tuple(entry[:5])] = entry[5]  # the first of ENDING_LOG_EVENTS wins
    for row in rows:
        key = (row["dag_id"], row["run_id"], row["task_id"], row["map_index"], row["try_number"])
        row["ending_log_event"] = events.get(key)
        row.update(run_fields.get((row["dag_id"], row["run_id"]), dict.fromkeys(RUN_FIELDS)))
    return rows


def read_connections_from_metadata_db() -> None:
    """Let a command (not a task) read Airflow connections from the metadata database as well
    as from the environment; a caller that set the context itself keeps its choice."""
    os.environ.setdefault(PROCESS_CONTEXT_VARIABLE, "server")
