"""Who drains the spools, tied to the lifecycle of the processes Airflow runs anyway:

- a `Job` (scheduler, DAG processor, triggerer): `SpoolDrainListener.on_starting` starts a
  `Drainer` over every visible spool (`spools.VisibleSpools`), `before_stopping` stops it after
  one last pass. Under the LocalExecutor every task runs on the scheduler's host, so its
  drainer covers them.
- a Celery worker: `include.stack.celery_worker` starts and stops the same drainer on the
  worker's own start and stop (a worker is not a `Job`: no listener hook fires there).
- a task process: `before_stopping` with the task runner replays what this process spooled,
  within TASK_HEALTH_EXIT_DRAIN_S (2 s), so an event of a short outage leaves with its task.
- anywhere else (an edge worker's host, a host whose workers are gone):
  `python -m include.stack.delivery drain` runs the same loop as a service of its own.
TASK_HEALTH_DRAIN_INTERVAL_S (10 s; 0 turns the drainers off) sets how often a drainer looks.
"""

from __future__ import annotations

import logging
import os

from airflow.listeners import hookimpl

from include.delivery.drainer import Drainer, drain_before_exit
from include.delivery.shippers import process_shippers
from include.stack.spools import VisibleSpools
from include.task_health.background import exclusive
from include.task_health.emitter import never_raise
from include.task_health.settings import TaskHealthSettings

log = logging.getLogger(__name__)

_drainer: Drainer | None = None


def new_drainer(settings: TaskHealthSettings) -> Drainer:
    """A drainer of every spool the host sees, each pass bounded by the delivery budget and
    kept whole across a fork (`background.exclusive`: a LocalExecutor scheduler forks)."""
    return Drainer(
        VisibleSpools(settings),
        settings.delivery.drain_interval_s,
        guard=exclusive,
        pass_budget_s=settings.delivery.ship_budget_s,
    )


def start_drainer() -> None:
    """Start this process's drainer (once; not when the interval is 0)."""
    global _drainer
    settings = TaskHealthSettings.from_env()
    if _drainer is not None or settings.delivery.drain_interval_s <= 0:
        return
    _drainer = new_drainer(settings)
    _drainer.start()
    log.info("task health: draining the spools under %s every %.0f s", settings.delivery.spool_root,
             settings.delivery.drain_interval_s)  # fmt: skip


def stop_drainer() -> None:
    """Stop this process's drainer after one last pass within the delivery budget."""
    global _drainer
    if _drainer is None:
        return
    drainer, _drainer = _drainer, None
    drainer.stop(final_budget_s=TaskHealthSettings.from_env().delivery.ship_budget_s)
    if drainer.totals.replayed or drainer.totals.spooled:
        log.info("task health: spool drainer totals: %d passes, %s", drainer.passes, drainer.totals)


def drain_task_process() -> None:
    """At a task process's end: what it spooled, within the exit budget."""
    result = drain_before_exit(process_shippers(), TaskHealthSettings.from_env().delivery.exit_drain_s)
    if result is not None and (result.spooled or result.lost):
        log.warning("task health: %d spooled event(s) left for the host's drainer", result.spooled)


def _forget_drainer() -> None:
    """In a forked child (a LocalExecutor worker, a Celery pool process): no drainer thread there."""
    global _drainer
    _drainer = None


os.register_at_fork(after_in_child=_forget_drainer)


class SpoolDrainListener:
    """Airflow's component hooks, bounded and never raising."""

    @hookimpl
    def on_starting(self, component: object) -> None:
        with never_raise("spool drainer start"):
            if hasattr(component, "job_type"):
                start_drainer()

    @hookimpl
    def before_stopping(self, component: object) -> None:
        with never_raise("spool drainer stop"):
            if hasattr(component, "job_type"):
                stop_drainer()
            else:
                drain_task_process()
