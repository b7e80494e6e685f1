"""A connection password (a unique random string) appears nowhere: not in Elasticsearch, not in
the spool or dead-letter files, not in the task logs — even when a task's error quotes it."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import pytest

from tests.conftest import ES_PORT
from tests.integration.task_health.conftest import connection_json
from tests.integration.task_health.dags import load_dag

pytestmark = pytest.mark.integration

PASSWORD = f"pw-{secrets.token_hex(16)}"
CLOSED_PORT = 9  # discard: nothing listens, connections are refused at once


def all_text_under(directory: Path) -> str:
    if not directory.exists():
        return ""
    return "\n".join(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def runs_with_a_password(task_health, airflow_db):
    """th_secret and th_lifecycle run once with the node reachable, once with it unreachable."""
    with pytest.MonkeyPatch.context() as patch:
        for label, port in (("reachable", ES_PORT), ("unreachable", CLOSED_PORT)):
            patch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(port, login="writer", password=PASSWORD))
            patch.setenv("TASK_HEALTH_INDEX_PREFIX", f"{task_health.prefix}-{label}")
            for dag_id in ("th_secret", "th_lifecycle"):
                load_dag(dag_id).test()


def test_the_password_is_in_no_document_spool_or_dead_letter(runs_with_a_password, task_health) -> None:
    stored = task_health.documents()
    assert stored, "the reachable runs must have written documents"
    assert PASSWORD not in repr(stored)
    assert task_health.spool_dir.joinpath("spool.jsonl").exists(), "the unreachable runs must have spooled"
    assert PASSWORD not in all_text_under(task_health.spool_dir)


def test_task_health_log_lines_never_show_it(task_health, airflow_db, monkeypatch, caplog) -> None:
    """Our warnings (outage, rejects) go to the task log; they must not carry credentials.
    (Task log files of a real scheduler run are checked in tests/e2e.)"""
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(CLOSED_PORT, login="w", password=PASSWORD))
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", f"{task_health.prefix}-logs")
    with caplog.at_level(logging.INFO, logger="include.task_health"):
        load_dag("th_lifecycle").test()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("include.task_health")]
    assert any("spooled to" in line for line in ours), "the outage warning must be in the log"
    assert not [line for line in ours if PASSWORD in line]


def test_the_error_that_quoted_it_is_masked(runs_with_a_password, task_health) -> None:
    [failed] = [
        d
        for d in task_health.documents()
        if d["airflow"]["task_id"] == "leak" and d["status"] == "failed" and d["event"] == "task_execution"
    ]
    assert failed["error_type"] == "PermissionError"
    assert failed["error_message"].startswith("cluster refused writer:***")
