"""Airflow test DAG (bundle `test-dags`): succeed / fail / retry / model task, for task-health tests."""

from tests.integration.task_health.dags import lifecycle_dag

lifecycle_dag("th_lifecycle")
