"""The `task_health` plugin's listener, loaded by Airflow from plugins/ (the session's
AIRFLOW__CORE__PLUGINS_FOLDER): a DAG with no task-health line gets every document."""

from __future__ import annotations

import time
from collections import Counter

from tests.integration.task_health.dags import FAIL_MESSAGE, PLAIN_DOCUMENTS, load_dag
from tests.support import state_of


def documents_of(task_health, run_id: str, expected: int, timeout: float = 20) -> list[dict]:
    """The run's documents; the summary comes from the listener's background thread."""
    deadline = time.monotonic() + timeout
    while True:
        docs = [d for d in task_health.documents() if d["airflow"]["run_id"] == run_id]
        if len(docs) >= expected or time.monotonic() > deadline:
            return docs
        time.sleep(0.5)


def test_a_dag_with_no_task_health_line_gets_every_document(task_health, airflow_db) -> None:
    from airflow.plugins_manager import get_plugin_info

    assert "task_health" in {p["name"] for p in get_plugin_info()}, "Airflow must load plugins/task_health_plugin.py"
    run = load_dag("th_plain").test()
    assert state_of(run) == "failed"
    docs = documents_of(task_health, run.run_id, expected=sum(PLAIN_DOCUMENTS.values()))
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    assert got == PLAIN_DOCUMENTS
    by_key = {(d["event"], d["status"], d["airflow"]["task_id"]): d for d in docs}
    failed = by_key[("task_execution", "failed", "fail")]
    assert (failed["error_type"], failed["error_message"]) == ("ValueError", FAIL_MESSAGE)
    assert by_key[("task_execution", "up_for_retry", "flaky")]["error_type"] == "RuntimeError"
    done = by_key[("task_execution", "completed", "succeed")]
    assert done["response_time"] > 0 and done["process"]["memory_rss_bytes"] > 0, "sampled as the callbacks do"
    summary = by_key[("dag_run", "failed", None)]
    assert summary["dag_run"]["task_states"]["failed"] == 1 and summary["dag_run"]["task_states"]["skipped"] == 1


def test_the_plugin_can_be_turned_off_or_limited_to_some_dags(task_health, airflow_db, monkeypatch) -> None:
    for variable, value in (("TASK_HEALTH_PLUGIN", "false"), ("TASK_HEALTH_PLUGIN_EXCLUDE_DAGS", "th_pl*")):
        with monkeypatch.context() as patch:
            patch.setenv(variable, value)
            run = load_dag("th_plain").test()
            assert documents_of(task_health, run.run_id, expected=1, timeout=3) == [], variable


def test_tries_that_died_without_reporting_get_their_documents_from_the_sweep(task_health, airflow_db) -> None:
    """As if `fail` had lost its heartbeat and flaky's first try had been SIGKILLed: their
    terminal documents are removed and the scheduler's audit-log entry for the first is written,
    as Airflow writes them. One sweep writes both documents (flaky's try from the task-instance
    history), saying how each ended; a second sweep and the run's reconcile write nothing."""
    from airflow.models.log import Log
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.utils.session import create_session

    from include.task_health.background import in_background
    from include.task_health.reconciler import Sweep, reconcile_run

    run = load_dag("th_plain").test()
    docs = documents_of(task_health, run.run_id, expected=sum(PLAIN_DOCUMENTS.values()))
    in_background(lambda: None).result(timeout=60)  # the run's own reconcile is done
    died = {
        (d["airflow"]["task_id"], d["airflow"]["try_number"]): d
        for d in docs
        if d["status"] in {"failed", "up_for_retry"}
    }
    removed = [died[("fail", 1)], died[("flaky", 1)]]
    for doc in removed:
        task_health.es.delete(index=doc["_index"], id=doc["_id"], refresh=True)
    with create_session() as session:
        key = TaskInstanceKey("th_plain", "fail", run.run_id, 1, -1)
        session.add(Log(event="heartbeat timeout", task_instance=key, extra="no heartbeat within 20 s"))

    assert Sweep().once() == 2
    after = documents_of(task_health, run.run_id, 0)
    written = {
        (d["airflow"]["task_id"], d["airflow"]["try_number"]): d for d in after if d["details"].get("reconciled")
    }
    assert set(written) == {("fail", 1), ("flaky", 1)}
    heartbeat, killed = written[("fail", 1)], written[("flaky", 1)]
    assert (heartbeat["status"], heartbeat["error_type"]) == ("failed", "HeartbeatTimeout")
    assert (killed["status"], killed["error_type"]) == ("up_for_retry", "TaskKilled")
    for doc, before in ((heartbeat, removed[0]), (killed, removed[1])):
        assert doc["_id"] == before["_id"] and doc["airflow"]["ti_id"] == before["airflow"]["ti_id"]
        run_fields = ("logical_date", "data_interval_start", "run_type", "run_start_date")
        assert {f: doc["airflow"][f] for f in run_fields} == {f: before["airflow"][f] for f in run_fields}
        assert doc["response_time"] > 0
    assert Sweep().once() == 0 and reconcile_run("th_plain", run.run_id) == 0
    assert len(documents_of(task_health, run.run_id, 0)) == sum(PLAIN_DOCUMENTS.values())
