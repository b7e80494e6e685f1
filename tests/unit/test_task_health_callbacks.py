"""`with_task_health` keeps a DAG's own callbacks and adds the task-health ones once; its run
callbacks leave the summary to the plugin's listener where this process registered it."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from include import airflow_compat
from include.task_health import callbacks
from include.task_health.background import on_background_thread
from include.task_health.callbacks import (
    TASK_CALLBACKS,
    compose,
    on_dag_run_failure,
    on_dag_run_success,
    on_task_execute,
    on_task_failure,
    on_task_success,
    with_task_health,
)
from include.task_health.context import dag_run_ref
from include.task_health.listener import TaskHealthListener


def own_execute(context) -> None: ...


def own_success(context) -> None: ...


def own_alert(context) -> None: ...


def test_without_own_callbacks_every_event_gets_only_task_health() -> None:
    kwargs = with_task_health({"owner": "o", "retries": 1})
    assert {k: v for k, v in kwargs["default_args"].items() if k in TASK_CALLBACKS} == {
        name: [ours] for name, ours in TASK_CALLBACKS.items()
    }
    assert (kwargs["default_args"]["owner"], kwargs["default_args"]["retries"]) == ("o", 1)
    assert kwargs["on_success_callback"] == [on_dag_run_success]
    assert kwargs["on_failure_callback"] == [on_dag_run_failure]


def test_own_task_callbacks_are_kept_and_task_health_runs_nearest_the_task() -> None:
    args = with_task_health({"on_execute_callback": own_execute, "on_success_callback": [own_success, own_alert]})[
        "default_args"
    ]
    assert args["on_execute_callback"] == [own_execute, on_task_execute]
    assert args["on_success_callback"] == [on_task_success, own_success, own_alert]
    assert args["on_failure_callback"] == [on_task_failure]


def test_own_run_callbacks_are_kept() -> None:
    kwargs = with_task_health({}, on_success_callback=own_success, on_failure_callback=(own_alert,))
    assert kwargs["on_success_callback"] == [on_dag_run_success, own_success]
    assert kwargs["on_failure_callback"] == [on_dag_run_failure, own_alert]


def test_applying_it_twice_adds_nothing() -> None:
    once = with_task_health({"on_success_callback": own_success}, on_failure_callback=own_alert)
    twice = with_task_health(
        once["default_args"],
        on_success_callback=once["on_success_callback"],
        on_failure_callback=once["on_failure_callback"],
    )
    assert twice == once


def test_compose_leaves_the_input_alone() -> None:
    own = [own_success]
    assert compose(own, on_task_success, last=False) == [on_task_success, own_success]
    assert own == [own_success]


def _finished_run(monkeypatch, *, listeners: list[object]) -> list[str]:
    """What the DAG callbacks write for one finished run when this process registered
    `listeners` (the statuses of the summaries they wrote themselves)."""
    written: list[str] = []
    monkeypatch.setattr(callbacks, "_dag_run_finished", lambda context, status: written.append(status))
    monkeypatch.setattr(airflow_compat, "registered_core_listeners", lambda: listeners)
    context = {"dag_run": SimpleNamespace(dag_id="d", run_id="r", clear_number=0), "reason": "task_failure"}
    on_dag_run_success(context)
    on_dag_run_failure(context)
    return written


def test_a_dag_callback_writes_the_summary_where_the_plugins_listener_is_not_registered(monkeypatch) -> None:
    assert _finished_run(monkeypatch, listeners=[]) == ["completed", "failed"]
    assert _finished_run(monkeypatch, listeners=[object()]) == ["completed", "failed"]


def test_a_dag_callback_leaves_the_summary_to_the_plugins_listener(monkeypatch) -> None:
    assert _finished_run(monkeypatch, listeners=[TaskHealthListener()]) == []


@pytest.mark.parametrize("env", [{"TASK_HEALTH_PLUGIN": "false"}, {"TASK_HEALTH_PLUGIN_EXCLUDE_DAGS": "d"}])
def test_a_dag_the_plugin_does_not_cover_gets_its_summary_from_the_callback(monkeypatch, env) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _finished_run(monkeypatch, listeners=[TaskHealthListener()]) == ["completed", "failed"]


def test_the_callback_waits_for_the_summary_the_listener_queued_in_this_process(monkeypatch) -> None:
    """`dag.test()`: the listener queued the summary on the task-health thread; the run's own
    callback returns only once that one is written, and writes none of its own."""
    release = threading.Event()
    written: list[tuple[str, bool]] = []

    def slow_summary(context, status) -> None:
        release.wait(5)
        written.append((status, on_background_thread()))

    monkeypatch.setattr(callbacks, "_dag_run_finished", slow_summary)
    monkeypatch.setattr(airflow_compat, "registered_core_listeners", lambda: [TaskHealthListener()])
    context = {"dag_run": SimpleNamespace(dag_id="d", run_id="queued", clear_number=0), "reason": "success"}
    callbacks.summary_in_background(context, failed=False)
    threading.Timer(0.2, release.set).start()
    on_dag_run_success(context)
    assert written == [("completed", True)]
    assert not callbacks._PENDING_SUMMARIES


def test_a_callback_with_no_dag_run_in_its_context_keeps_the_run_id() -> None:
    ref = dag_run_ref({"dag": SimpleNamespace(dag_id="d"), "run_id": "manual__1"})
    assert (ref.dag_id, ref.run_id, ref.try_number) == ("d", "manual__1", 1)


def test_with_task_health_off_a_run_callback_does_no_work(monkeypatch) -> None:
    looked_up: list[object] = []
    monkeypatch.setenv("TASK_HEALTH_ENABLED", "false")
    monkeypatch.setattr(callbacks, "_task_states", looked_up.append)
    on_dag_run_failure({"dag_run": SimpleNamespace(dag_id="d", run_id="off", clear_number=0), "reason": "task_failure"})
    assert looked_up == []
