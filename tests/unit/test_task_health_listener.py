"""The plugin listener's own decisions (pure logic; its documents: test_plugin.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.task_health import callbacks
from include.task_health.listener import instrumented, is_metadata_row, outside_event
from include.task_health.settings import TaskHealthSettings


@pytest.mark.parametrize(
    ("env", "covered"),
    [
        ({}, {"a", "pipeline_x"}),
        ({"TASK_HEALTH_PLUGIN": "false"}, set()),
        ({"TASK_HEALTH_ENABLED": "false"}, set()),
        ({"TASK_HEALTH_PLUGIN_DAGS": "pipeline_*, b"}, {"pipeline_x"}),
        ({"TASK_HEALTH_PLUGIN_EXCLUDE_DAGS": "pipeline_*"}, {"a"}),
        ({"TASK_HEALTH_PLUGIN_DAGS": "pipeline_*", "TASK_HEALTH_PLUGIN_EXCLUDE_DAGS": "pipeline_x"}, set()),
    ],
)
def test_which_dags_the_plugin_covers(monkeypatch, env, covered) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = TaskHealthSettings.from_env()
    assert {d for d in ("a", "pipeline_x") if settings.plugin_covers(d)} == covered


def test_a_task_with_the_callbacks_is_left_to_them() -> None:
    assert instrumented([print, callbacks.on_task_execute], callbacks.on_task_execute)
    assert instrumented(callbacks.on_task_execute, callbacks.on_task_execute)
    assert not instrumented(None, callbacks.on_task_execute) and not instrumented([print], callbacks.on_task_execute)


class MetadataTaskInstance:
    """Stands for a metadata-DB row: the ORM model has `__tablename__`."""

    __tablename__ = "task_instance"
    dag_id, run_id, task_id, map_index = "d", "manual__1", "t", -1
    try_number, max_tries, operator, hostname, state = 1, 2, "PythonOperator", "", "failed"
    id = "0199a1b2-0000-7000-8000-000000000001"
    start_date = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    end_date = datetime(2026, 3, 1, 10, 0, 42, tzinfo=UTC)
    dag_run = None


def test_a_task_marked_failed_outside_it_gets_a_terminal_document() -> None:
    ti = MetadataTaskInstance()
    assert is_metadata_row(ti) and not is_metadata_row(object())
    event = outside_event(ti, "failed", None, "running")
    assert (event.status, event.error_type, event.error_message) == ("failed", "MarkedFailed", None)
    assert event.response_time == 42 and event.at == ti.end_date
    assert event.where.ti_id == ti.id and event.where.hostname is None
    assert event.details == {"state_set_outside_the_task": True, "previous_state": "running"}
    success = outside_event(ti, "success", None, "failed")
    assert (success.status, success.error_type) == ("completed", None)
    timeout = outside_event(ti, "failed", TimeoutError("heartbeat timed out"), "running")
    assert (timeout.error_type, timeout.error_message) == ("TimeoutError", "heartbeat timed out")


def test_a_failure_airflow_sets_on_a_running_try_is_left_to_the_reconciler(monkeypatch) -> None:
    from include.task_health import listener

    written: list[str] = []
    monkeypatch.setattr(listener, "_outside", lambda ti, status, error, previous: written.append(status))
    hooks = listener.TaskHealthListener()
    hooks.on_task_instance_failed(previous_state="running", task_instance=MetadataTaskInstance(), error="gone")
    assert written == []
    hooks.on_task_instance_failed(previous_state=None, task_instance=MetadataTaskInstance(), error="set by hand")
    assert written == ["failed"]


class Job:
    """Stands for airflow.jobs.job.Job: its job_type is set once a runner takes it."""

    job_type: str | None = None


def test_the_sweep_starts_with_a_job_and_keeps_running_only_for_the_scheduler(monkeypatch) -> None:
    from include.task_health import listener

    monkeypatch.setenv("TASK_HEALTH_SWEEP_INTERVAL_S", "3600")
    hooks = listener.TaskHealthListener()
    hooks.on_starting(component=object())  # a task process's marker: no sweep there
    assert listener._sweeper is None
    job = Job()
    hooks.on_starting(component=job)
    try:
        assert listener._sweeper is not None and listener._sweeper.thread.is_alive()
        assert not listener._sweeper.runs_here()
        job.job_type = "SchedulerJob"
        assert listener._sweeper.runs_here()
    finally:
        sweeper = listener._sweeper
        hooks.before_stopping(component=job)
    assert listener._sweeper is None and sweeper is not None and sweeper.stopped.is_set()


@pytest.mark.parametrize(
    "env", [{"TASK_HEALTH_SWEEP_INTERVAL_S": "0"}, {"TASK_HEALTH_PLUGIN": "false"}, {"TASK_HEALTH_RECONCILER": "no"}]
)
def test_no_sweep_when_it_or_the_plugin_is_off(monkeypatch, env) -> None:
    from include.task_health import listener

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    listener.TaskHealthListener().on_starting(component=Job())
    assert listener._sweeper is None


PRE_FORK_PROBE = """
import sys
from types import SimpleNamespace
from include.task_health.listener import TaskHealthListener
before = "elasticsearch" in sys.modules
component = SimpleNamespace(job_type=None) if sys.argv[1] == "job" else object()
TaskHealthListener().on_starting(component)
print(before, "elasticsearch" in sys.modules, "include.delivery.spool" in sys.modules)
"""


@pytest.mark.parametrize(
    ("component", "enabled", "imported"),
    [("job", "true", "True True"), ("job", "false", "False False"), ("task runner", "true", "False False")],
)
def test_a_job_start_imports_the_shipping_path_for_the_processes_it_forks(component, enabled, imported) -> None:
    """A LocalExecutor's workers and task processes fork from the scheduler: what its Job's
    `on_starting` imported, they inherit (benchmarks/bench_fork.py). With task health off, or
    where the component is not a Job (`on_starting` also runs in each task process), nothing."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "TASK_HEALTH_ENABLED": enabled, "TASK_HEALTH_SWEEP_INTERVAL_S": "0"}
    done = subprocess.run([sys.executable, "-c", PRE_FORK_PROBE, component], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-3:] == ["False", *imported.split()]
