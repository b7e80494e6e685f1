"""Airflow test DAG (bundle `test-dags`): a failing task that quotes its connection password."""

from tests.integration.task_health.dags import secret_dag

secret_dag("th_secret")
