"""The unified task-health document (contract: shared DESIGN.md §3), built from plain values.

Pure functions only: no Airflow, no I/O, so every field is unit-tested with fake values. The
seed application's field names (`timestamp`, `event`, `status`, `response_time`, `cpu_usage`,
`memory_usage`, `details.*`, `log_level`, `error_message`, `model_name`, `model_version`,
`application_name`) are kept as they are: the dashboards depend on them. `model_name` keeps the
seed's meaning in every event kind, the model (`IsolationForest`); the MLflow registry name the
`model_version` belongs to is `registered_model_name`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.delivery.spool import Action

MODEL_NAME = "IsolationForest"
EVENTS = {"task_execution", "model_execution", "dag_run", "model_evaluation"}
STATUSES = {"started", "completed", "failed", "up_for_retry", "skipped"}
LOG_LEVELS = {"failed": "ERROR", "up_for_retry": "WARNING"}
# The template's error_message.keyword has ignore_above 8100: a truncated message (at most 8,014
# characters, < 32 KB in UTF-8) stays aggregatable, so Kibana's failure table can show it.
ERROR_MESSAGE_LIMIT = 8000
RESERVED_FIELDS = {
    "@timestamp", "timestamp", "event", "status", "log_level", "application_name", "model_name", "model_version",
    "registered_model_name", "response_time", "cpu_usage", "memory_usage", "process", "details", "error_message",
    "error_type", "airflow",
}  # fmt: skip


@dataclass(frozen=True)
class AirflowRef:
    """Where an event came from. Task fields are None for DAG-run events."""

    dag_id: str
    run_id: str
    task_id: str | None = None
    run_type: str | None = None
    try_number: int | None = None
    max_tries: int | None = None
    map_index: int | None = None
    logical_date: datetime | None = None
    data_interval_start: datetime | None = None
    data_interval_end: datetime | None = None
    operator: str | None = None
    hostname: str | None = None
    ti_id: str | None = None  # the task instance try's id: Airflow 3 gives every try its own
    run_start_date: datetime | None = None  # when the DAG run started: tells a re-created run apart


@dataclass(frozen=True)
class ResourceUsage:
    """Resource figures over one execution; None where nothing could be measured."""

    host_cpu_percent: float | None = None
    host_memory_percent: float | None = None
    process_cpu_percent: float | None = None
    process_peak_rss_bytes: int | None = None


@dataclass(frozen=True)
class HealthEvent:
    """One lifecycle event, before it becomes a document."""

    event: str
    status: str
    at: datetime
    where: AirflowRef
    application_name: str
    response_time: float | None = None
    resources: ResourceUsage = field(default_factory=ResourceUsage)
    error_message: str | None = None
    error_type: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    registered_model_name: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown event {self.event!r}; expected one of {sorted(EVENTS)}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {sorted(STATUSES)}")
        if self.at.tzinfo is None:
            raise ValueError("event time must be timezone-aware (UTC)")
        clash = RESERVED_FIELDS & self.extra.keys()
        if clash:
            raise ValueError(f"extra fields may not replace contract fields: {sorted(clash)}")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: Airflow dates are UTC-aware")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def build_document(
    event: HealthEvent, redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The JSON document for one event; every contract field is present (null when not known).
    `redact` (the emitter passes the secrets masker) runs before `error_message` is cut to its
    limit: cutting first could leave the head of a secret that the masker no longer recognises."""
    doc = _full_document(event)
    if redact is not None:
        doc = redact(doc)
    message = doc["error_message"]
    if message is not None and len(message) > ERROR_MESSAGE_LIMIT:
        doc["error_message"] = message[:ERROR_MESSAGE_LIMIT] + " …[truncated]"
    return doc


def _full_document(event: HealthEvent) -> dict[str, Any]:
    where, res = event.where, event.resources
    at = _iso(event.at)
    return {
        "@timestamp": at,
        "timestamp": at,
        "event": event.event,
        "status": event.status,
        "log_level": LOG_LEVELS.get(event.status, "INFO"),
        "application_name": event.application_name,
        "model_name": event.model_name,
        "model_version": event.model_version,
        "registered_model_name": event.registered_model_name,
        "response_time": _round(event.response_time, 6),
        "cpu_usage": _round(res.host_cpu_percent),
        "memory_usage": _round(res.host_memory_percent),
        "process": {
            "cpu_percent": _round(res.process_cpu_percent),
            "memory_rss_bytes": res.process_peak_rss_bytes,
        },
        "details": {
            "anomalies_count": event.details.get("anomalies_count"),
            "successful_predictions": event.details.get("successful_predictions"),
            "failed_predictions": event.details.get("failed_predictions"),
            **{k: v for k, v in event.details.items() if k not in _SEED_DETAILS},
        },
        "error_message": event.error_message,
        "error_type": event.error_type,
        "airflow": {
            "dag_id": where.dag_id,
            "task_id": where.task_id,
            "run_id": where.run_id,
            "run_type": where.run_type,
            "try_number": where.try_number,
            "max_tries": where.max_tries,
            "map_index": where.map_index,
            "logical_date": _iso(where.logical_date),
            "data_interval_start": _iso(where.data_interval_start),
            "data_interval_end": _iso(where.data_interval_end),
            "ti_id": where.ti_id,
            "run_start_date": _iso(where.run_start_date),
            "operator": where.operator,
            "hostname": where.hostname,
        },
        **event.extra,
    }


_SEED_DETAILS = ("anomalies_count", "successful_predictions", "failed_predictions")


def document_id(doc: dict[str, Any]) -> str:
    """Deterministic `_id`: the same event written twice (retry, replay, another emitter) is the
    same document. A run deleted and created again under the same run id restarts its tries at
    1, so the key also holds what is new in it: the try's own id for task events, the run's
    start for DAG-run events (an event that knows neither keeps the key it always had)."""
    a = doc["airflow"]
    parts = [
        a["dag_id"],
        a["run_id"],
        a["task_id"] or "",
        a["map_index"] if a["map_index"] is not None else -1,
        a["try_number"] if a["try_number"] is not None else 0,
        doc["event"],
        doc["status"],
    ]
    instance = a.get("ti_id") if a["task_id"] else a.get("run_start_date")
    if instance:
        parts.append(instance)
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:40]


def index_name(doc: dict[str, Any], prefix: str) -> str:
    """Monthly index from the event's own time, so a replayed event lands where it would have."""
    at = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
    return f"{prefix}-{at:%Y.%m}"


def document_action(doc: dict[str, Any], index_prefix: str) -> Action:
    """The bulk action for a task-health document: its month's index and its deterministic id."""
    return {"_index": index_name(doc, index_prefix), "_id": document_id(doc), "_source": doc}
