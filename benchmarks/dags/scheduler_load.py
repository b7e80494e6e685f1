"""Airflow benchmark DAG (bench_scheduler): 200 mapped task instances, every other one failing,
so that at the run's end the reconciler has 100 ended tries to check against the index."""

from __future__ import annotations

from airflow.sdk import dag, task

TASKS = 200


@task
def work(i: int) -> int:
    if i % 2:
        raise ValueError(f"task {i} fails on purpose")
    return i


@dag(dag_id="scheduler_load", schedule=None, tags=["bench"], default_args={"owner": "bench", "retries": 0})
def scheduler_load() -> None:
    work.expand(i=list(range(TASKS)))


scheduler_load()
