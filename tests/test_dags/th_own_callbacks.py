"""Airflow test DAG (bundle `test-dags`): a DAG's own callbacks next to task health's."""

from tests.integration.task_health.dags import own_callbacks_dag

own_callbacks_dag("th_own_callbacks")
