"""A real DAG run (dag.test) produces exactly the expected task-health documents in the real
Elasticsearch, with every contract field and the mapping types of the contract."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from tests.integration.task_health.dags import FAIL_MESSAGE, LIFECYCLE_DOCUMENTS, load_dag
from tests.support import state_of

CONTRACT_TYPES = {
    "@timestamp": "date",
    "timestamp": "date",
    "event": "keyword",
    "status": "keyword",
    "log_level": "keyword",
    "application_name": "keyword",
    "model_name": "keyword",
    "model_version": "keyword",
    "registered_model_name": "keyword",
    "response_time": "float",
    "cpu_usage": "float",
    "memory_usage": "float",
    "process.cpu_percent": "float",
    "process.memory_rss_bytes": "long",
    "details.anomalies_count": "long",
    "details.successful_predictions": "long",
    "details.failed_predictions": "long",
    "error_message": "text",
    "error_type": "keyword",
    "airflow.dag_id": "keyword",
    "airflow.task_id": "keyword",
    "airflow.run_id": "keyword",
    "airflow.run_type": "keyword",
    "airflow.try_number": "long",
    "airflow.max_tries": "long",
    "airflow.map_index": "long",
    "airflow.logical_date": "date",
    "airflow.data_interval_start": "date",
    "airflow.data_interval_end": "date",
    "airflow.operator": "keyword",
    "airflow.ti_id": "keyword",
    "airflow.run_start_date": "date",
    "airflow.hostname": "keyword",
}


def flatten(mapping: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for name, spec in mapping.items():
        if "properties" in spec:
            out.update(flatten(spec["properties"], f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = spec["type"]
    return out


@pytest.fixture(scope="module")
def run_documents(task_health, airflow_db):
    dag_run = load_dag("th_lifecycle").test()
    return dag_run, task_health.documents()


def test_exactly_the_expected_documents(run_documents) -> None:
    dag_run, docs = run_documents
    assert state_of(dag_run) == "failed"
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    assert got == LIFECYCLE_DOCUMENTS
    assert {d["airflow"]["run_id"] for d in docs} == {dag_run.run_id}
    assert len({d["_id"] for d in docs}) == len(docs)


def test_every_document_carries_every_contract_field(run_documents) -> None:
    _, docs = run_documents
    for doc in docs:
        flat = {**doc, **{f"{k}.{s}": v for k, sub in doc.items() if isinstance(sub, dict) for s, v in sub.items()}}
        missing = [f for f in CONTRACT_TYPES if f not in flat]
        assert not missing, f"{doc['event']}/{doc['status']}/{doc['airflow']['task_id']} lacks {missing}"
        assert doc["application_name"] and doc["airflow"]["dag_id"] and doc["airflow"]["run_type"] == "manual"


def test_failures_and_retries_carry_the_error(run_documents) -> None:
    _, docs = run_documents
    by_key = {(d["event"], d["status"], d["airflow"]["task_id"]): d for d in docs}
    failed = by_key[("task_execution", "failed", "fail")]
    assert failed["error_message"] == FAIL_MESSAGE
    assert (failed["error_type"], failed["log_level"]) == ("ValueError", "ERROR")
    retry = by_key[("task_execution", "up_for_retry", "flaky")]
    assert retry["error_message"] == "transient failure on the first try"
    assert (retry["error_type"], retry["log_level"], retry["airflow"]["max_tries"]) == ("RuntimeError", "WARNING", 1)
    completed = [d for d in docs if d["status"] == "completed" and d["event"] == "task_execution"]
    assert all(d["error_message"] is None for d in completed)


def test_measurements_are_real_numbers(run_documents) -> None:
    _, docs = run_documents
    finished = [d for d in docs if d["event"] == "task_execution" and d["status"] != "started"]
    for doc in finished:
        assert doc["response_time"] > 0
        assert 0 < doc["memory_usage"] < 100
        assert doc["process"]["memory_rss_bytes"] > 10_000_000
        assert doc["process"]["cpu_percent"] >= 0


def test_model_execution_documents_carry_version_and_details(run_documents) -> None:
    _, docs = run_documents
    [completed] = [d for d in docs if d["event"] == "model_execution" and d["status"] == "completed"]
    model = (completed["model_name"], completed["model_version"], completed["registered_model_name"])
    assert model == ("IsolationForest", "7", "th-test-model")
    assert completed["details"] == {"anomalies_count": 2, "successful_predictions": 10, "failed_predictions": 1}
    assert completed["airflow"]["operator"] == "ScoreOperator"


def test_dag_run_summary_counts_task_states(run_documents) -> None:
    _, docs = run_documents
    [summary] = [d for d in docs if d["event"] == "dag_run"]
    assert summary["dag_run"]["state"] == "failed"
    assert summary["dag_run"]["task_states"]["success"] == 3
    assert summary["dag_run"]["task_states"]["failed"] == 1
    assert summary["response_time"] > 0


def test_live_mapping_has_the_contract_types(run_documents, task_health) -> None:
    mappings = task_health.es.indices.get_mapping(index=f"{task_health.prefix}-*")
    for index, body in mappings.items():
        live = flatten(body["mappings"]["properties"])
        wrong = {f: (live.get(f), t) for f, t in CONTRACT_TYPES.items() if live.get(f) != t}
        assert not wrong, f"{index}: (live, contract) types differ: {wrong}"


def test_a_model_step_killed_by_its_timeout_still_reports_failed(task_health, airflow_db) -> None:
    dag_run = load_dag("th_timeout").test()
    docs = [d for d in task_health.documents() if d["airflow"]["run_id"] == dag_run.run_id]
    got = {(d["event"], d["status"]): d for d in docs}
    failed = got[("model_execution", "failed")]
    assert failed["error_type"] == "AirflowTaskTimeout"
    assert 0.9 < failed["response_time"] < 10
    assert ("task_execution", "failed") in got and ("model_execution", "started") in got


def test_a_run_deleted_and_created_again_under_its_run_id_keeps_both_runs_documents(
    task_health, airflow_db, monkeypatch
) -> None:
    """`dag.test()` at a logical date whose run exists deletes that run and creates it again:
    the same run id, tries from 1 again (what a redone backfill or a REST run with an explicit
    id does). The second run's documents must not be taken for re-sends of the first's."""
    prefix = f"{task_health.prefix}_rerun"
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
    logical_date = datetime(2026, 1, 5, tzinfo=UTC)
    first = load_dag("th_lifecycle").test(run_after=logical_date, logical_date=logical_date)
    second = load_dag("th_lifecycle").test(run_after=logical_date, logical_date=logical_date)
    assert first.run_id == second.run_id
    # Task documents only: dag.test() starts every run at its run_after, so the two runs'
    # summaries are alike in every field (tests/e2e checks them under the scheduler).
    docs = [d for d in task_health.documents() if d["_index"].startswith(f"{prefix}-") and d["event"] != "dag_run"]
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    tasks_only = Counter({key: n for key, n in LIFECYCLE_DOCUMENTS.items() if key[0] != "dag_run"})
    assert got == tasks_only + tasks_only
    tries = {d["airflow"]["ti_id"] for d in docs if d["event"] == "task_execution"}
    assert len(tries) == 2 * 5, "each run's five task tries (flaky has two) have ids of their own"
