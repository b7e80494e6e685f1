"""Task health for every task of every DAG, with no line in the DAG file: the listener that the
`task_health` plugin (`plugins/task_health_plugin.py`) registers with Airflow.

Where each hook runs (Airflow 3) and what it does:
- `on_task_instance_running/success/failed/skipped` with the task's runtime instance run in the
  task's own process: they call the task callbacks (`callbacks.on_task_*`) with the task's
  context, so the documents, their resource figures and their ids are exactly those the
  callbacks would write. A task whose DAG opted in with `with_task_health` is left to its
  callbacks (one event, one document, one `_id` whoever emits it).
- The same hooks with a metadata-DB `TaskInstance` run where a state is set outside the task:
  the API server (a task marked success or failed in the UI or through REST: `previous_state`
  None) and the scheduler. For a state set by hand they write the terminal document the task
  itself never wrote (`details.state_set_outside_the_task`), from one background thread so that
  no request waits for Elasticsearch. A failure Airflow sets on a running try (the executor
  reported the process gone, or its heartbeat stopped) is left to the reconciler, which reads
  how it ended; here the row may already carry the next try's id.
- `on_dag_run_success/failed` run in the scheduler (and in `dag.test()`, and in the API server
  for a run marked by hand): the `dag_run` summary, also from the background thread
  (`background.in_background`: safe when the scheduler forks its LocalExecutor workers), for
  every covered DAG. A DAG that keeps `with_task_health` leaves it to this hook: its callback,
  run by the DAG processor from cold, sees the listener registered there and writes nothing
  (`callbacks._left_to_the_listener`); either way the summary's `_id` is the same. Then the run is
  reconciled (`reconciler.reconcile_run`): tries killed without a word get their terminal document.
- `on_starting/before_stopping` with a `Job` (scheduler, triggerer, DAG processor) start and stop
  the reconciler's periodic sweep (`reconciler.Sweeper`), which keeps running only where the job
  turns out to be the scheduler's: several schedulers each sweep, harmlessly (ids are shared).
  At the stop, the reconciler's totals (passes, documents, wall and CPU time) are logged.
  `on_starting` also imports what a task's first document needs (`_import_for_task_processes`),
  before the scheduler starts its executor: a LocalExecutor forks its workers from the scheduler
  and each task process from a worker, so they inherit the modules instead of importing them.
`TASK_HEALTH_PLUGIN=false` turns all of it off; `TASK_HEALTH_PLUGIN_DAGS` and
`TASK_HEALTH_PLUGIN_EXCLUDE_DAGS` (comma-separated fnmatch patterns) restrict it to some DAGs;
`TASK_HEALTH_SWEEP_INTERVAL_S=0` leaves reconciling to the end of each run, and
`TASK_HEALTH_RECONCILER=false` turns the reconciler off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from airflow.listeners import hookimpl

from include.task_health import callbacks
from include.task_health.background import in_background
from include.task_health.context import enum_value
from include.task_health.document import AirflowRef, HealthEvent
from include.task_health.emitter import emit, never_raise
from include.task_health.reconciler import Sweeper, log_totals, reconcile_run
from include.task_health.settings import TaskHealthSettings

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)

# What a state set outside the task becomes: (document status, error_type when none is known).
OUTSIDE_STATES = {
    "success": ("completed", None),
    "failed": ("failed", "MarkedFailed"),
    "up_for_retry": ("up_for_retry", "MarkedUpForRetry"),
}
RUN_FIELDS = ("dag_id", "run_id", "clear_number", "run_type", "state", "logical_date", "data_interval_start",
              "data_interval_end", "start_date", "end_date")  # fmt: skip

SCHEDULER_JOB_TYPE = "SchedulerJob"  # `Job.job_type` once a SchedulerJobRunner took the job

_sweeper: Sweeper | None = None


def is_metadata_row(task_instance: object) -> bool:
    """A TaskInstance row of the metadata DB (scheduler, API server), not a task's runtime view."""
    return hasattr(type(task_instance), "__tablename__")


def instrumented(hooks: object, ours: Callable[..., None]) -> bool:
    """Whether `ours` (a task-health callback) is among a task's or DAG's own callbacks, also
    behind a `functools.wraps` wrapper."""
    return any(getattr(hook, "__wrapped__", hook) is ours for hook in (hooks if isinstance(hooks, list) else [hooks]))


def _task_context(task_instance: Any) -> Context | None:
    """The task's context when this plugin should write the task's documents here, else None."""
    if is_metadata_row(task_instance) or not TaskHealthSettings.from_env().plugin_covers(task_instance.dag_id):
        return None
    if instrumented(getattr(task_instance.task, "on_execute_callback", None), callbacks.on_task_execute):
        return None
    return cast("Context", task_instance.get_template_context())


def outside_event(
    task_instance: Any, status: str, error: str | BaseException | None, previous_state: object
) -> HealthEvent:
    """The terminal document of a state set on a metadata-DB TaskInstance (read now, in the
    caller's session; the event travels to another thread as plain values)."""
    dag_run = getattr(task_instance, "dag_run", None)
    start, end = task_instance.start_date, task_instance.end_date
    try_id = getattr(task_instance, "id", None)
    ref = AirflowRef(
        dag_id=task_instance.dag_id,
        run_id=task_instance.run_id,
        task_id=task_instance.task_id,
        run_type=enum_value(getattr(dag_run, "run_type", None)),
        try_number=task_instance.try_number,
        max_tries=task_instance.max_tries,
        map_index=task_instance.map_index,
        logical_date=getattr(dag_run, "logical_date", None),
        data_interval_start=getattr(dag_run, "data_interval_start", None),
        data_interval_end=getattr(dag_run, "data_interval_end", None),
        operator=task_instance.operator,
        hostname=task_instance.hostname or None,
        ti_id=None if try_id is None else str(try_id),
        run_start_date=getattr(dag_run, "start_date", None),
    )
    document_status, default_type = OUTSIDE_STATES[status]
    message = None if error is None or document_status == "completed" else str(error)
    return HealthEvent(
        "task_execution",
        document_status,
        end or datetime.now(UTC),
        ref,
        TaskHealthSettings.from_env().application_name,
        response_time=(end - start).total_seconds() if start and end else None,
        error_message=message,
        error_type=type(error).__name__ if isinstance(error, BaseException) else default_type,
        details={"state_set_outside_the_task": True, "previous_state": enum_value(previous_state)},
    )


def _outside(task_instance: Any, status: str, error: str | BaseException | None, previous_state: object) -> None:
    if not TaskHealthSettings.from_env().plugin_covers(task_instance.dag_id):
        return
    event = outside_event(task_instance, status, error, previous_state)
    in_background(lambda: emit(event))


def _dag_run_finished(dag_run: Any, msg: str, *, failed: bool) -> None:
    settings = TaskHealthSettings.from_env()
    if not settings.plugin_covers(dag_run.dag_id):
        return
    run = SimpleNamespace(**{name: getattr(dag_run, name, None) for name in RUN_FIELDS})
    callbacks.summary_in_background(cast("Context", {"dag_run": run, "reason": msg}), failed=failed)
    if settings.reconciles():
        in_background(lambda: reconcile_run(run.dag_id, run.run_id))


def _import_for_task_processes(component: object) -> None:
    """What the first `started` of a task process imports, imported here once (bench_fork: a
    forked task process's first document then costs a fraction of a cold one). Only in a `Job`:
    `on_starting` also runs in each task process, whose DAG task health may not even cover."""
    if not hasattr(component, "job_type") or not TaskHealthSettings.from_env().enabled:
        return
    import include.redaction  # noqa: F401
    import include.task_health.resources  # noqa: F401
    from include.delivery.shippers import import_for_forks

    import_for_forks()


def _start_sweep(component: object) -> None:
    global _sweeper
    settings = TaskHealthSettings.from_env()
    if _sweeper is not None or not hasattr(component, "job_type"):
        return
    if settings.sweep_interval_s <= 0 or not settings.reconciles():
        return
    _sweeper = Sweeper(settings.sweep_interval_s, lambda: getattr(component, "job_type", None) == SCHEDULER_JOB_TYPE)
    _sweeper.start()


def _stop_sweep() -> None:
    global _sweeper
    if _sweeper is not None:
        _sweeper.stop()
        _sweeper = None


def _forget_sweep() -> None:
    """In a forked child (a LocalExecutor worker): the parent's sweep thread is not there."""
    global _sweeper
    _sweeper = None


os.register_at_fork(after_in_child=_forget_sweep)


class TaskHealthListener:
    """Airflow's listener hooks, each bounded and never raising (see the module docstring)."""

    @hookimpl
    def on_task_instance_running(self, previous_state: object, task_instance: Any) -> None:
        with never_raise("listener on_task_instance_running"):
            if (context := _task_context(task_instance)) is not None:
                callbacks.on_task_execute(context)

    @hookimpl
    def on_task_instance_success(self, previous_state: object, task_instance: Any) -> None:
        with never_raise("listener on_task_instance_success"):
            if is_metadata_row(task_instance):
                _outside(task_instance, "success", None, previous_state)
            elif (context := _task_context(task_instance)) is not None:
                callbacks.on_task_success(context)

    @hookimpl
    def on_task_instance_failed(
        self, previous_state: object, task_instance: Any, error: str | BaseException | None
    ) -> None:
        with never_raise("listener on_task_instance_failed"):
            retry = enum_value(task_instance.state) == "up_for_retry"
            if is_metadata_row(task_instance):
                if enum_value(previous_state) == "running":
                    return  # Airflow failing a try that died without a word: the reconciler's to write
                _outside(task_instance, "up_for_retry" if retry else "failed", error, previous_state)
            elif (context := _task_context(task_instance)) is not None:
                context["exception"] = error
                (callbacks.on_task_retry if retry else callbacks.on_task_failure)(context)

    @hookimpl
    def on_task_instance_skipped(self, previous_state: object, task_instance: Any) -> None:
        with never_raise("listener on_task_instance_skipped"):
            if (context := _task_context(task_instance)) is not None:
                callbacks.on_task_skipped(context)

    @hookimpl
    def on_starting(self, component: object) -> None:
        with never_raise("listener on_starting: pre-fork import"):
            _import_for_task_processes(component)
        with never_raise("listener on_starting"):
            _start_sweep(component)

    @hookimpl
    def before_stopping(self, component: object) -> None:
        with never_raise("listener before_stopping"):
            _stop_sweep()
            log_totals()

    @hookimpl
    def on_dag_run_success(self, dag_run: Any, msg: str) -> None:
        with never_raise("listener on_dag_run_success"):
            _dag_run_finished(dag_run, msg, failed=False)

    @hookimpl
    def on_dag_run_failed(self, dag_run: Any, msg: str) -> None:
        with never_raise("listener on_dag_run_failed"):
            _dag_run_finished(dag_run, msg, failed=True)
