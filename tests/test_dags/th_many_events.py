"""Airflow test DAG (bundle `test-dags`): 250 mapped model tasks = 1,000 task-health events + 1 summary."""

from tests.integration.task_health.dags import many_events_dag

many_events_dag("th_many_events", shards=250)
