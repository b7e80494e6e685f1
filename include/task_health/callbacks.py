"""Airflow callbacks that emit the unified task-health documents.

Attach them all with one line (`with_task_health`), e.g.

    @dag(schedule="@daily", tags=[...], **with_task_health({"owner": "data", "retries": 1}))

A DAG's own callbacks are kept: task callbacks in its `default_args`, run callbacks passed to
`with_task_health` (`@dag` cannot take the same keyword twice).

Task callbacks run in the task's own process (the caller's under `dag.test()`):
`on_execute_callback` starts a resource sampler and emits `started` (from the task-health
thread once the process has shipped before: `emitter.emit_in_background`); success / failure
/ retry / skipped stop it and emit `completed` / `failed` / `up_for_retry` / `skipped` with
response time, CPU and memory. DAG-level callbacks emit a `dag_run` summary with the run's
duration, state and count of task states; where the `task_health` plugin's listener is loaded it
writes that summary itself (`summary_in_background`), and the DAG callback leaves it to it (see
`_left_to_the_listener`). Every callback is bounded by the shipper's time budget and never
raises into Airflow.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

from include.task_health.background import in_background
from include.task_health.context import dag_run_ref, enum_value, error_fields, task_ref
from include.task_health.document import AirflowRef, HealthEvent, ResourceUsage
from include.task_health.emitter import emit, emit_in_background, never_raise
from include.task_health.settings import TaskHealthSettings

if TYPE_CHECKING:
    from airflow.sdk import Context

    from include.airflow_compat import TaskStates
    from include.task_health.resources import ResourceSampler

TASK_STATES_COUNTED = ("success", "failed", "upstream_failed", "skipped", "up_for_retry", "removed")


@dataclass
class _Running:
    sampler: ResourceSampler
    started: float


_RunKey: TypeAlias = tuple[str, str, str | None, int | None, int | None]
_RUNNING: dict[_RunKey, _Running] = {}
_RUNNING_LOCK = threading.Lock()
# Summaries the listener queued in this process and not yet written, by (dag_id, run_id, try).
_PENDING_SUMMARIES: dict[_RunKey, concurrent.futures.Future[object]] = {}


def _key(ref: AirflowRef) -> _RunKey:
    return (ref.dag_id, ref.run_id, ref.task_id, ref.map_index, ref.try_number)


def _now() -> datetime:
    return datetime.now(UTC)


def on_task_execute(context: Context) -> None:
    with never_raise("on_execute_callback"):
        from include.task_health.resources import ResourceSampler, snapshot

        settings = TaskHealthSettings.from_env()
        ref = task_ref(context)
        started = HealthEvent("task_execution", "started", _now(), ref, settings.application_name, resources=snapshot())
        emit_in_background(started)  # the task's next document waits for it (emitter docstring)
        running = _Running(ResourceSampler(settings.sample_interval_s).start(), time.perf_counter())
        with _RUNNING_LOCK:
            _RUNNING[_key(ref)] = running


def _task_finished(context: Context, status: str) -> None:
    settings = TaskHealthSettings.from_env()
    ref = task_ref(context)
    with _RUNNING_LOCK:
        running = _RUNNING.pop(_key(ref), None)
    if running is not None:
        resources = running.sampler.stop()
        response_time: float | None = time.perf_counter() - running.started
    else:  # no `started` in this process (e.g. a retry callback run by the dag processor)
        resources = ResourceUsage()
        ti = context.get("ti") or context.get("task_instance")
        start = getattr(ti, "start_date", None)
        response_time = (_now() - start).total_seconds() if isinstance(start, datetime) else None
    message, error_type = error_fields(context) if status in {"failed", "up_for_retry"} else (None, None)
    emit(
        HealthEvent(
            "task_execution",
            status,
            _now(),
            ref,
            settings.application_name,
            response_time=response_time,
            resources=resources,
            error_message=message,
            error_type=error_type,
        )
    )


def on_task_success(context: Context) -> None:
    with never_raise("on_success_callback"):
        _task_finished(context, "completed")


def on_task_failure(context: Context) -> None:
    with never_raise("on_failure_callback"):
        _task_finished(context, "failed")


def on_task_retry(context: Context) -> None:
    with never_raise("on_retry_callback"):
        _task_finished(context, "up_for_retry")


def on_task_skipped(context: Context) -> None:
    with never_raise("on_skipped_callback"):
        _task_finished(context, "skipped")


def count_task_states(states: TaskStates) -> dict[str, int]:
    """{task: state} → counts per state, with anything unusual under `other`."""
    counts = dict.fromkeys((*TASK_STATES_COUNTED, "other"), 0)
    for state in states.values():
        name = enum_value(state)
        counts[name if name in TASK_STATES_COUNTED else "other"] += 1
    return counts


def _task_states(ref: AirflowRef) -> dict[str, int]:
    """Counts of the run's task states (read as `airflow_compat.run_task_states` says)."""
    from include.airflow_compat import run_task_states

    return count_task_states(run_task_states(ref.dag_id, ref.run_id))


def _dag_run_finished(context: Context, status: str) -> None:
    settings = TaskHealthSettings.from_env()
    if not settings.enabled:
        return  # not even the task-state lookup: off costs a DAG callback nothing
    ref = dag_run_ref(context)
    dag_run = context.get("dag_run")
    start, end = getattr(dag_run, "start_date", None), getattr(dag_run, "end_date", None) or _now()
    task_states = None
    with never_raise("task state lookup"):
        task_states = _task_states(ref)
    reason = context.get("reason")
    emit(
        HealthEvent(
            "dag_run",
            status,
            _now(),
            ref,
            settings.application_name,
            response_time=(end - start).total_seconds() if isinstance(start, datetime) else None,
            error_message=str(reason) if status == "failed" and reason else None,
            extra={
                "dag_run": {
                    "state": enum_value(getattr(dag_run, "state", None)),
                    "reason": str(reason) if reason else None,
                    "task_states": task_states,
                }
            },
        )
    )


def summary_in_background(context: Context, *, failed: bool) -> None:
    """The run's summary from this process's task-health thread: the listener's way, so that the
    scheduler (or the API server) never waits for Elasticsearch."""
    key = _key(dag_run_ref(context))
    status = "failed" if failed else "completed"

    def write() -> None:
        with never_raise("dag_run summary"):
            _dag_run_finished(context, status)

    pending = in_background(write)
    _PENDING_SUMMARIES[key] = pending
    pending.add_done_callback(lambda _: _PENDING_SUMMARIES.pop(key, None))


def _left_to_the_listener(context: Context) -> bool:
    """Whether the plugin's listener writes this run's summary (the same document, the same
    `_id`), so the DAG callback need not. The listener runs where the run's state changes
    (scheduler, API server, `dag.test()`) and writes from a warm process; Airflow runs a DAG's
    callbacks in a fresh DAG-processor process, which would import the client, connect and check
    the templates from cold for one document (the largest share of task health's cost in a
    backfill: benchmarks/README). The listener counts only where this process registered it (the
    DAG processor loads the plugins the scheduler loads); elsewhere the callback writes. Under
    `dag.test()` the callback waits for the listener's summary, so the run's documents are all in
    when the test returns."""
    ref, settings = dag_run_ref(context), TaskHealthSettings.from_env()
    if not settings.plugin_covers(ref.dag_id):
        return False
    from include.airflow_compat import registered_core_listeners
    from include.task_health.listener import TaskHealthListener

    if not any(isinstance(listener, TaskHealthListener) for listener in registered_core_listeners()):
        return False
    if (pending := _PENDING_SUMMARIES.get(_key(ref))) is not None:
        concurrent.futures.wait([pending], timeout=settings.delivery.ship_budget_s)
    return True


def on_dag_run_success(context: Context) -> None:
    with never_raise("DAG on_success_callback"):
        if not _left_to_the_listener(context):
            _dag_run_finished(context, "completed")


def on_dag_run_failure(context: Context) -> None:
    with never_raise("DAG on_failure_callback"):
        if not _left_to_the_listener(context):
            _dag_run_finished(context, "failed")


TASK_CALLBACKS = {
    "on_execute_callback": on_task_execute,
    "on_success_callback": on_task_success,
    "on_failure_callback": on_task_failure,
    "on_retry_callback": on_task_retry,
    "on_skipped_callback": on_task_skipped,
}


# As Airflow types task and DAG callbacks (`TaskStateChangeCallback`, `DagStateChangeCallback`).
Callback: TypeAlias = Callable[["Context"], None]
Callbacks: TypeAlias = Callback | Collection[Callback] | None


class DagKwargs(TypedDict):
    """What `with_task_health` gives `@dag(...)`."""

    default_args: dict[str, Any]
    on_success_callback: list[Callback]
    on_failure_callback: list[Callback]


def compose(own: Callbacks, ours: Callback, *, last: bool) -> list[Callback]:
    """The DAG's own callbacks (one or a list) and ours, once: Airflow runs a list in order, each
    callback on its own, so neither side can stop the other, and a second application adds nothing."""
    callbacks = [own] if callable(own) else list(own or ())
    if ours in callbacks:
        return callbacks
    return [*callbacks, ours] if last else [ours, *callbacks]


def with_task_health(
    default_args: dict[str, Any], *, on_success_callback: Callbacks = None, on_failure_callback: Callbacks = None
) -> DagKwargs:
    """`@dag(...)` keyword arguments that instrument every task and the run itself, keeping the
    task callbacks in `default_args` and the run callbacks given here. Task health measures the
    task, not the DAG's own callbacks: it starts after them and stops before them."""
    task_callbacks = {
        name: compose(default_args.get(name), ours, last=name == "on_execute_callback")
        for name, ours in TASK_CALLBACKS.items()
    }
    return {
        "default_args": {**default_args, **task_callbacks},
        "on_success_callback": compose(on_success_callback, on_dag_run_success, last=False),
        "on_failure_callback": compose(on_failure_callback, on_dag_run_failure, last=False),
    }
