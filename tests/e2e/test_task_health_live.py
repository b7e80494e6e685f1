"""Task health under a real scheduler: callbacks in real task processes, the DAG-level summary
from the dag processor, and task log files that never show the connection password."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.e2e.live import documents_of_run
from tests.integration.task_health.dags import LIFECYCLE_DOCUMENTS


@pytest.fixture(scope="module")
def live_runs(live_airflow):
    runs = {dag_id: live_airflow.trigger(dag_id) for dag_id in ("th_lifecycle", "th_secret")}
    states = {dag_id: live_airflow.wait_for_run(dag_id, run_id) for dag_id, run_id in runs.items()}
    return runs, states


def test_a_scheduled_run_writes_exactly_the_expected_documents(live_runs, live_es) -> None:
    runs, states = live_runs
    assert states["th_lifecycle"] == "failed"
    docs = documents_of_run(live_es, runs["th_lifecycle"], expected=sum(LIFECYCLE_DOCUMENTS.values()))
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    assert got == LIFECYCLE_DOCUMENTS
    [summary] = [d for d in docs if d["event"] == "dag_run"]
    assert summary["dag_run"]["task_states"]["success"] == 3
    assert summary["dag_run"]["task_states"]["failed"] == 1
    assert {d["airflow"]["run_type"] for d in docs} == {"manual"}
    finished = [d for d in docs if d["event"] == "task_execution" and d["status"] != "started"]
    assert all(d["response_time"] > 0 and d["process"]["memory_rss_bytes"] > 0 for d in finished)


def test_task_log_files_never_show_the_password(live_runs, live_airflow, live_es, writer_login) -> None:
    login, password = writer_login
    runs, states = live_runs
    assert states["th_secret"] == "failed"
    logs = [p for p in (live_airflow.home / "logs").rglob("*") if p.is_file()]
    leak_logs = [p for p in logs if "th_secret" in str(p) and "leak" in str(p)]
    assert leak_logs, "the failing task must have written a log file"
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    assert f"cluster refused {login}:***" in text
    assert password not in text
    docs = documents_of_run(live_es, runs["th_secret"], expected=3)
    assert docs and password not in repr(docs)


def test_a_run_deleted_and_triggered_again_under_its_id_keeps_both_runs_documents(live_airflow, live_es) -> None:
    """A REST run with an explicit id, deleted and triggered again under the same id: tries
    restart at 1, yet the second run's documents are new documents, its summary included."""
    run_id = f"rerun__{uuid.uuid4().hex[:8]}"
    expected = sum(LIFECYCLE_DOCUMENTS.values())
    for runs in (1, 2):
        if runs == 2:
            live_airflow.delete_run("th_lifecycle", run_id)
        assert live_airflow.trigger("th_lifecycle", run_id=run_id) == run_id
        assert live_airflow.wait_for_run("th_lifecycle", run_id) == "failed"
        docs = documents_of_run(live_es, run_id, expected=runs * expected)  # the summary lands after the run
        live_airflow.wait_for_executor_events(
            run_id, tries=sum(d["status"] == "started" for d in docs if d["event"] == "task_execution")
        )
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    assert got == LIFECYCLE_DOCUMENTS + LIFECYCLE_DOCUMENTS
    assert len({d["airflow"]["run_start_date"] for d in docs if d["event"] == "dag_run"}) == 2
