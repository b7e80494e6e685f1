"""The stack_check DAG, run by Airflow (dag.test) against the real Elasticsearch and MLflow."""

from __future__ import annotations

import pytest

from tests.conftest import SESSION_INDEX_PREFIX

pytestmark = pytest.mark.integration


def test_stack_check_succeeds_against_real_services(loaded_settings, es) -> None:
    """Inside a task, `elasticsearch_default` comes from the metadata DB the loader filled."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState, TaskInstanceState

    dag = DagBag().get_dag("stack_check")
    run = dag.test()
    assert run.state == DagRunState.SUCCESS
    results = {ti.task_id: ti for ti in run.get_task_instances()}
    assert {tid: ti.state for tid, ti in results.items()} == {
        "elasticsearch": TaskInstanceState.SUCCESS,
        "mlflow": TaskInstanceState.SUCCESS,
    }
    es_result = results["elasticsearch"].xcom_pull(task_ids="elasticsearch")
    assert es_result["status"] in {"green", "yellow"} and es_result["nodes"] == 1

    # The DAG opts into task health: started + completed per task, and the run summary.
    es.indices.refresh(index=f"{SESSION_INDEX_PREFIX}-*")
    hits = es.search(index=f"{SESSION_INDEX_PREFIX}-*", query={"term": {"airflow.run_id": run.run_id}}, size=100)
    docs = [h["_source"] for h in hits["hits"]["hits"]]
    got = sorted((d["event"], d["status"], d["airflow"]["task_id"] or "") for d in docs)
    assert got == [
        ("dag_run", "completed", ""),
        ("task_execution", "completed", "elasticsearch"),
        ("task_execution", "completed", "mlflow"),
        ("task_execution", "started", "elasticsearch"),
        ("task_execution", "started", "mlflow"),
    ]
