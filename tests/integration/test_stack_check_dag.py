"""The stack_check DAG, run by Airflow (dag.test) against the real Elasticsearch and MLflow."""

from __future__ import annotations

from tests.session import SESSION_INDEX_PREFIX
from tests.support import state_of, task_states


def test_stack_check_succeeds_against_real_services(loaded_settings, es) -> None:
    """Inside a task, `elasticsearch_default` comes from the metadata DB the loader filled."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag().get_dag("stack_check")
    run = dag.test()
    assert state_of(run) == "success"
    assert task_states(run) == {("elasticsearch", -1): "success", ("mlflow", -1): "success"}
    results = {ti.task_id: ti for ti in run.get_task_instances()}
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
