"""Airflow benchmark DAGs: the same 40 tasks with and without task health (bench_overhead)."""

from __future__ import annotations

from airflow.sdk import dag, task

from include.task_health.callbacks import with_task_health

TASKS = 40
DEFAULT_ARGS = {"owner": "bench", "retries": 1}


@task
def work(i: int) -> int:
    return sum(range(10_000)) + i


@dag(dag_id="overhead_plain", schedule=None, tags=["bench"], default_args=DEFAULT_ARGS)
def overhead_plain() -> None:
    work.expand(i=list(range(TASKS)))


@dag(dag_id="overhead_instrumented", schedule=None, tags=["bench"], **with_task_health(DEFAULT_ARGS))
def overhead_instrumented() -> None:
    work.expand(i=list(range(TASKS)))


overhead_plain()
overhead_instrumented()
