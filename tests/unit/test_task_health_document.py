"""The unified document, its id and its index, from plain fake values."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from include.task_health.document import (
    AirflowRef,
    HealthEvent,
    ResourceUsage,
    build_document,
    document_id,
    index_name,
)

AT = datetime(2026, 3, 31, 23, 59, 59, 123456, tzinfo=UTC)
REF = AirflowRef(
    dag_id="d",
    run_id="backfill__2026-03-01T00:00:00+00:00",
    task_id="t",
    run_type="backfill",
    try_number=2,
    max_tries=3,
    map_index=-1,
    logical_date=datetime(2026, 3, 1, tzinfo=UTC),
    data_interval_start=datetime(2026, 3, 1, tzinfo=UTC),
    data_interval_end=datetime(2026, 3, 1, tzinfo=UTC),
    operator="PythonOperator",
    hostname="worker-1",
    ti_id="0199a1b2-0000-7000-8000-000000000002",
    run_start_date=datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
)
CONTRACT_FIELDS = {
    "@timestamp", "timestamp", "event", "status", "log_level", "application_name", "model_name",
    "model_version", "registered_model_name", "response_time", "cpu_usage", "memory_usage", "process", "details",
    "error_message", "error_type", "airflow",
}  # fmt: skip


def event(**overrides) -> HealthEvent:
    fields = {"event": "task_execution", "status": "completed", "at": AT, "where": REF, "application_name": "app"}
    fields.update(overrides)
    return HealthEvent(**fields)


def test_completed_document_has_every_contract_field_with_seed_names() -> None:
    doc = build_document(
        event(
            response_time=1.23456789,
            resources=ResourceUsage(12.3456, 45.6, 98.7654, 123_456_789),
            model_name="IsolationForest",
            model_version="3",
            registered_model_name="hourly_load_iforest",
            details={"anomalies_count": 2, "successful_predictions": 8, "failed_predictions": 1},
        )
    )
    assert doc.keys() >= CONTRACT_FIELDS
    assert doc["@timestamp"] == doc["timestamp"] == "2026-03-31T23:59:59.123Z"
    assert (doc["event"], doc["status"], doc["log_level"]) == ("task_execution", "completed", "INFO")
    model = (doc["model_name"], doc["model_version"], doc["registered_model_name"])
    assert model == ("IsolationForest", "3", "hourly_load_iforest")
    assert doc["response_time"] == pytest.approx(1.234568)
    assert (doc["cpu_usage"], doc["memory_usage"]) == (12.346, 45.6)
    assert doc["process"] == {"cpu_percent": 98.765, "memory_rss_bytes": 123_456_789}
    assert doc["details"] == {"anomalies_count": 2, "successful_predictions": 8, "failed_predictions": 1}
    assert doc["airflow"] == {
        "dag_id": "d",
        "task_id": "t",
        "run_id": "backfill__2026-03-01T00:00:00+00:00",
        "run_type": "backfill",
        "try_number": 2,
        "max_tries": 3,
        "map_index": -1,
        "logical_date": "2026-03-01T00:00:00.000Z",
        "data_interval_start": "2026-03-01T00:00:00.000Z",
        "data_interval_end": "2026-03-01T00:00:00.000Z",
        "operator": "PythonOperator",
        "hostname": "worker-1",
        "ti_id": "0199a1b2-0000-7000-8000-000000000002",
        "run_start_date": "2026-03-02T01:00:00.000Z",
    }
    assert doc["error_message"] is None and doc["error_type"] is None


@pytest.mark.parametrize(("status", "level"), [("failed", "ERROR"), ("up_for_retry", "WARNING"), ("skipped", "INFO")])
def test_log_level_follows_status(status: str, level: str) -> None:
    assert build_document(event(status=status))["log_level"] == level


def test_manual_run_without_logical_date_keeps_nulls() -> None:
    ref = AirflowRef(dag_id="d", run_id="manual__x", task_id="t", run_type="manual")
    doc = build_document(event(where=ref))
    assert doc["airflow"]["logical_date"] is None and doc["airflow"]["data_interval_start"] is None


def test_long_error_messages_are_truncated() -> None:
    doc = build_document(event(status="failed", error_message="x" * 20_000, error_type="ValueError"))
    assert len(doc["error_message"]) < 8100 and doc["error_message"].endswith("[truncated]")


def test_other_timezones_are_normalised_to_utc() -> None:
    at = datetime(2026, 4, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert build_document(event(at=at))["@timestamp"] == "2026-03-31T23:00:00.000Z"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event": "nope"}, "unknown event"),
        ({"status": "running"}, "unknown status"),
        ({"at": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"extra": {"status": "completed"}}, "may not replace contract fields"),
    ],
)
def test_invalid_events_are_refused(overrides, message) -> None:
    with pytest.raises(ValueError, match=message):
        event(**overrides)


def test_id_is_deterministic_and_ignores_measurements() -> None:
    first = build_document(event(response_time=1.0))
    again = build_document(event(response_time=9.0, at=AT + timedelta(seconds=5)))
    assert document_id(first) == document_id(again)
    assert len(document_id(first)) == 40


@pytest.mark.parametrize(
    "change",
    [
        {"status": "failed"},
        {"event": "model_execution"},
        {"where": AirflowRef(**{**REF.__dict__, "try_number": 3})},
        {"where": AirflowRef(**{**REF.__dict__, "map_index": 4})},
        {"where": AirflowRef(**{**REF.__dict__, "run_id": "other"})},
        {"where": AirflowRef(**{**REF.__dict__, "task_id": "other"})},
        {"where": AirflowRef(**{**REF.__dict__, "ti_id": "0199a1b2-0000-7000-8000-0000000000ff"})},
    ],
)
def test_id_changes_with_each_identity_part(change) -> None:
    assert document_id(build_document(event(**change))) != document_id(build_document(event()))


def test_a_re_created_run_gets_new_ids_and_an_event_without_instance_ids_keeps_the_old_key() -> None:
    run = AirflowRef(dag_id="d", run_id="manual__x", try_number=1, run_start_date=AT)
    summary = {"event": "dag_run", "status": "completed"}
    again = AirflowRef(**{**run.__dict__, "run_start_date": AT + timedelta(hours=1)})
    assert document_id(build_document(event(**summary, where=run))) != document_id(
        build_document(event(**summary, where=again))
    )
    legacy = AirflowRef(**{**REF.__dict__, "ti_id": None, "run_start_date": None})
    doc = build_document(event(where=legacy))
    key = "\x1f".join(["d", legacy.run_id, "t", "-1", "2", "task_execution", "completed"])
    assert document_id(doc) == hashlib.sha256(key.encode()).hexdigest()[:40], "ids of spooled events stay valid"


def test_index_comes_from_the_event_time_not_the_write_time() -> None:
    assert index_name(build_document(event()), "task-health") == "task-health-2026.03"
    assert index_name(build_document(event(at=AT + timedelta(seconds=1))), "th") == "th-2026.04"
