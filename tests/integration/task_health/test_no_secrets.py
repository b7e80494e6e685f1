"""A connection password (a unique random string) appears nowhere: not in Elasticsearch, not in
the spool or dead-letter files, not in the task logs — even when a task's error quotes it."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.task_health.dags import load_dag
from tests.session import ES_PORT
from tests.support import connection_json

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
            patch.setenv("TASK_HEALTH_INDEX_PREFIX", f"{task_health.prefix}_{label}")
            for dag_id in ("th_secret", "th_lifecycle"):
                load_dag(dag_id).test()


def test_the_password_is_in_no_document_spool_or_dead_letter(runs_with_a_password, task_health) -> None:
    stored = task_health.documents()
    assert stored, "the reachable runs must have written documents"
    assert PASSWORD not in repr(stored)
    assert task_health.spool_dir.joinpath("spool.jsonl").exists(), "the unreachable runs must have spooled"
    assert PASSWORD not in all_text_under(task_health.spool_dir)


def test_a_secret_inside_a_rejected_document_reaches_no_file_or_log(task_health, caplog) -> None:
    """Elasticsearch quotes a rejected field's value in its reason; the document, the dead-letter
    record and our warning must all carry it masked."""
    from airflow.sdk.log import mask_secret

    from include.task_health.document import AirflowRef, HealthEvent
    from include.task_health.emitter import emit

    mask_secret(PASSWORD)  # what the SDK does when a task reads the connection
    ref = AirflowRef(dag_id="d", run_id="manual__secret_reject", task_id="t", try_number=1, map_index=-1)
    event = HealthEvent("task_execution", "completed", datetime.now(UTC), ref, "app", extra={"note": PASSWORD})
    with caplog.at_level(logging.INFO, logger="include"):
        good = emit(event)
        bad_ref = AirflowRef(dag_id="d", run_id="manual__secret_reject", task_id="t2", try_number=1, map_index=-1)
        bad = emit(HealthEvent("task_execution", "completed", datetime.now(UTC), bad_ref, "app", response_time=1.0))
    assert good.delivered == 1 and bad.delivered == 1
    # Now a rejection whose reason would quote the secret: a `long` field holding text.
    odd_ref = AirflowRef(dag_id="d", run_id="manual__secret_reject", task_id="t3", try_number=1, map_index=-1)
    odd = {"dag_run": {"task_states": {"success": f"n/a {PASSWORD}"}}}
    with caplog.at_level(logging.INFO, logger="include"):
        rejected = emit(HealthEvent("dag_run", "completed", datetime.now(UTC), odd_ref, "app", extra=odd))
    assert rejected.dead_lettered == 1
    dead = (task_health.spool_dir / "deadletter.jsonl").read_text()
    assert "Preview of field" in dead or "response_time" in dead
    assert PASSWORD not in dead
    assert PASSWORD not in repr(task_health.documents())
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("include.")]
    assert any("rejected" in line for line in ours)
    assert not [line for line in ours if PASSWORD in line]


def test_a_secret_at_a_length_limit_is_masked_before_it_is_cut(task_health) -> None:
    """The secret straddles the cut of `error_message` (8,000) and of a warning (500): masking
    first leaves none of it; cutting first would leave its head, which no masker recognises."""
    from airflow.sdk.log import mask_secret

    from include.delivery.shipper import DESCRIBE_LIMIT, describe
    from include.task_health.document import ERROR_MESSAGE_LIMIT, AirflowRef, HealthEvent
    from include.task_health.emitter import emit

    mask_secret(PASSWORD)
    head = PASSWORD[:12]
    message = "x" * (ERROR_MESSAGE_LIMIT - 6) + PASSWORD
    ref = AirflowRef(dag_id="d", run_id="manual__secret_cut", task_id="t", try_number=1, map_index=-1)
    shipped = emit(HealthEvent("task_execution", "failed", datetime.now(UTC), ref, "app", error_message=message))
    assert shipped is not None and shipped.delivered == 1
    [doc] = [d for d in task_health.documents() if d["airflow"]["run_id"] == "manual__secret_cut"]
    assert head not in doc["error_message"] and "***" in doc["error_message"]

    warning = describe(RuntimeError("y" * (DESCRIBE_LIMIT - 20) + PASSWORD))
    assert head not in warning and "***" in warning and len(warning) <= DESCRIBE_LIMIT


def test_credentials_airflow_never_saw_are_masked_too(task_health, monkeypatch) -> None:
    """A token in MLFLOW_TRACKING_URI, a Kibana API key in the environment and a URL with
    credentials quoted in an error reach neither Elasticsearch nor the spool."""
    from include.task_health.document import AirflowRef, HealthEvent
    from include.task_health.emitter import emit

    token, api_key, quoted = (f"{kind}-{secrets.token_hex(8)}" for kind in ("tok", "key", "url"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"https://ml-user:{token}@mlflow.invalid")
    monkeypatch.setenv("KIBANA_API_KEY", api_key)
    message = (
        f"MlflowException: API request to https://ml-user:{token}@mlflow.invalid/api failed; "
        f"kibana answered 401 for ApiKey {api_key}; retried via https://svc:{quoted}@proxy.invalid"
    )
    for label, port in (("reachable", ES_PORT), ("unreachable", CLOSED_PORT)):
        monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(port))
        monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", f"{task_health.prefix}_env{label}")  # a shipper of its own
        ref = AirflowRef(dag_id="d", run_id=f"manual__env_{label}", task_id="t", try_number=1, map_index=-1)
        emit(HealthEvent("task_execution", "failed", datetime.now(UTC), ref, "app", error_message=message))
    [doc] = [d for d in task_health.documents() if d["airflow"]["run_id"] == "manual__env_reachable"]
    spooled = all_text_under(task_health.spool_dir)
    assert "manual__env_unreachable" in spooled
    for secret in (token, api_key, quoted):
        assert secret not in doc["error_message"] and secret not in spooled
    assert "https://svc:***@proxy.invalid" in doc["error_message"]
