"""Airflow's Celery configuration, unchanged, plus the worker's spool drainer and preload.

Set `AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=include.stack.celery_worker.CELERY_CONFIG` on the
workers (`make up EXECUTOR=celery` and docker-compose's celery profile do). Airflow imports this
module to build its Celery app; importing it connects the drainer (`draining.start_drainer`)
to the worker's `worker_ready` and `worker_shutdown` signals, which fire in the worker's main
process only. A Celery worker is not an Airflow `Job`, so no listener hook marks its start or
its stop: without this, a worker's spool would drain only when a later task on the same
worker writes successfully. In the scheduler, which imports the same app, the signals never fire.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init, worker_ready, worker_shutdown

from include.stack.draining import start_drainer, stop_drainer
from include.task_health.emitter import never_raise

# The very object Airflow would use: its team-aware configuration is left as it is.
CELERY_CONFIG = DEFAULT_CELERY_CONFIG
# What the project's tasks import: the pipeline's libraries, what loading a model imports (skops,
# 0.5 s) and what an MLflow client on a database store imports (SQLAlchemy, alembic: 1.1 s), the
# task-health client, and what the task_health plugin imports (each task process loads the
# plugins). Measured under Celery with py-spy: before skops, the database store and the listener
# were preloaded, their imports were most of a detect task's CPU.
DEFAULT_PRELOAD = ",".join(
    [
        "pandas",
        "sklearn.ensemble",
        "mlflow.sklearn",
        "skops.io",
        "mlflow.store.tracking.sqlalchemy_store",
        "elasticsearch",
        "include.anomaly.pipeline",
        "include.task_health.listener",
    ]
)
log = logging.getLogger(__name__)


def preload_modules() -> list[str]:
    return [m.strip() for m in os.environ.get("CELERY_WORKER_PRELOAD", DEFAULT_PRELOAD).split(",") if m.strip()]


def _preload_before_the_pool_forks(**_: Any) -> None:
    for name in preload_modules():
        with never_raise(f"preload of {name}"):
            importlib.import_module(name)
    log.info("preloaded for task processes: %s", ", ".join(preload_modules()) or "nothing")


def _drain_while_the_worker_runs(**_: Any) -> None:
    with never_raise("spool drainer start"):
        start_drainer()


def _drain_before_the_worker_leaves(**_: Any) -> None:
    with never_raise("spool drainer stop"):
        stop_drainer()


worker_init.connect(_preload_before_the_pool_forks, weak=False)
worker_ready.connect(_drain_while_the_worker_runs, weak=False)
worker_shutdown.connect(_drain_before_the_worker_leaves, weak=False)
