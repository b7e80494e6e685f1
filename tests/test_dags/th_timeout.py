"""Airflow test DAG (bundle `test-dags`): a model step that exceeds its execution_timeout."""

from tests.integration.task_health.dags import timeout_dag

timeout_dag("th_timeout")
