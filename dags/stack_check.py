"""
### Stack check

Confirms that this Airflow can reach the services the anomaly pipeline depends on: the
Elasticsearch cluster behind the `elasticsearch_default` connection (cluster health; for a
least-privilege writer, which may not read it, the privileges it holds on the project's indices) and the
MLflow tracking store and model registry (`MLFLOW_TRACKING_URI`). Trigger it after changing a
connection or moving the stack; each task's return value shows what it found, and every task
emits task-health documents (index `task-health-*`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.sdk import dag, task

from include.task_health.callbacks import with_task_health

if TYPE_CHECKING:
    from include.stack.checks import ElasticsearchReport, MlflowReport

DEFAULT_ARGS = {"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=10)}


@dag(
    schedule=None,
    catchup=False,
    tags=["platform", "health"],
    doc_md=__doc__,
    **with_task_health(DEFAULT_ARGS),
)
def stack_check() -> None:
    # One XCom per check (its report), not one per key: a dict-typed return would split it.
    @task(multiple_outputs=False)
    def elasticsearch() -> ElasticsearchReport:
        from include.stack.checks import check_elasticsearch

        return check_elasticsearch()

    @task(multiple_outputs=False)
    def mlflow() -> MlflowReport:
        from include.stack.checks import check_mlflow

        return check_mlflow()

    elasticsearch()
    mlflow()


stack_check()
