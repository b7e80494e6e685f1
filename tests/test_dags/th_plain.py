"""Airflow test DAG (bundle `test-dags`): no task-health line; the plugin writes its documents."""

from tests.integration.task_health.dags import plain_dag

plain_dag("th_plain")
