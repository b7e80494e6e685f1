"""`with_task_health` keeps a DAG's own callbacks and adds the task-health ones once."""

from __future__ import annotations

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
