"""Airflow test DAG (bundle `test-dags`): a task SIGKILLs its own process (live scheduler only)."""

from tests.integration.task_health.dags import killed_dag

killed_dag("th_killed")
