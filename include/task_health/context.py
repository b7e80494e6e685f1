"""Read an Airflow callback context into plain values (`AirflowRef`, error fields).

Tolerant by design: callbacks run in task processes, the dag processor and `dag.test()`, where
the context has different shapes (a manual run may have no logical date; a DAG callback has
the last task instance); whatever is missing becomes None instead of an exception.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from include.task_health.document import AirflowRef

if TYPE_CHECKING:
    from airflow.sdk import Context


def enum_value(obj: object) -> str | None:
    """Enum members (DagRunType.MANUAL) as their value ('manual'); strings as they are."""
    if obj is None:
        return None
    return str(getattr(obj, "value", obj))


def _date(obj: object, name: str) -> datetime | None:
    value = getattr(obj, name, None)
    return value if isinstance(value, datetime) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def task_ref(context: Context) -> AirflowRef:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    task = context.get("task")
    return AirflowRef(
        dag_id=_str(getattr(ti, "dag_id", None)) or _str(getattr(dag_run, "dag_id", None)) or "unknown",
        run_id=_str(getattr(ti, "run_id", None)) or _str(getattr(dag_run, "run_id", None)) or "unknown",
        task_id=getattr(ti, "task_id", None),
        run_type=enum_value(getattr(dag_run, "run_type", None)),
        try_number=_int(getattr(ti, "try_number", None)),
        max_tries=_int(getattr(ti, "max_tries", None)),
        map_index=_int(getattr(ti, "map_index", None)),
        logical_date=_date(dag_run, "logical_date"),
        data_interval_start=_date(dag_run, "data_interval_start"),
        data_interval_end=_date(dag_run, "data_interval_end"),
        operator=None if task is None else getattr(task, "task_type", None) or type(task).__name__,
        hostname=getattr(ti, "hostname", None),
        ti_id=None if (try_id := getattr(ti, "id", None)) is None else str(try_id),
        run_start_date=_date(dag_run, "start_date"),
    )


def dag_run_ref(context: Context) -> AirflowRef:
    """The run itself; its `try_number` is 1 + the times the run was cleared, so the summary of
    a cleared and re-run DAG run is a new document, not a duplicate of the first. A DAG callback
    whose run had no task to describe it gets only `dag` and `run_id` from Airflow."""
    dag_run = context.get("dag_run")
    dag = context.get("dag")
    return AirflowRef(
        dag_id=_str(getattr(dag_run, "dag_id", None)) or _str(getattr(dag, "dag_id", None)) or "unknown",
        run_id=getattr(dag_run, "run_id", None) or context.get("run_id") or "unknown",
        try_number=(_int(getattr(dag_run, "clear_number", None)) or 0) + 1,
        run_type=enum_value(getattr(dag_run, "run_type", None)),
        logical_date=_date(dag_run, "logical_date"),
        data_interval_start=_date(dag_run, "data_interval_start"),
        data_interval_end=_date(dag_run, "data_interval_end"),
        run_start_date=_date(dag_run, "start_date"),
    )


def error_fields(context: Context) -> tuple[str | None, str | None]:
    """(error_message, error_type) of the exception in the context (the emitter redacts)."""
    error = context.get("exception")
    if error is None:
        return None, None
    if isinstance(error, BaseException):
        return str(error) or type(error).__name__, type(error).__name__
    return str(error), None
