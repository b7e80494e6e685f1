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
