"""Airflow test DAG (bundle `test-dags`): task logs for tests/e2e/test_task_logs_live.py.

A plain and a mapped task log a marker through `print` and `logging`; the plain one also logs
its connection's password, which the secrets masker must hide before the log leaves the worker.
"""

from __future__ import annotations

import logging

from airflow.sdk import dag, task

DAG_ID = "task_logs_es"
MARKER = "task-logs-to-es marker"


@dag(dag_id=DAG_ID, schedule=None, tags=["test"], default_args={"owner": "tests", "retries": 0})
def task_logs_es() -> None:
    @task
    def say() -> None:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection("elasticsearch_default")
        print(f"{MARKER} via print")
        logging.getLogger(__name__).info("%s via logging, as %s:%s", MARKER, conn.login, conn.password)

    @task
    def say_mapped(n: int) -> None:
        print(f"{MARKER} from map index {n}")

    say()
    say_mapped.expand(n=[0])


task_logs_es()
