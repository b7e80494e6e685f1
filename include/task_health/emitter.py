"""The one way task-health events leave a process: build the document, redact it, hand it to
the process's shipper of the task-health indices.

Kept apart from the callbacks so the operator, the callbacks and the commands share one
shipper (one client, one template check, one circuit breaker) per process and settings.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from include.delivery.shippers import shipper_for
from include.task_health.document import HealthEvent, build_document, document_action
from include.task_health.settings import TaskHealthSettings
from include.task_health.templates import task_health_template

if TYPE_CHECKING:
    from include.delivery.shipper import Shipper, ShipResult

log = logging.getLogger("include.task_health")


def task_health_shipper(settings: TaskHealthSettings) -> Shipper:
    """Task-health documents: indices `<prefix>-YYYY.MM`, spooled in the spool root itself."""
    return shipper_for(settings.delivery, task_health_template(settings.index_prefix))


def current_shipper() -> Shipper:
    return task_health_shipper(TaskHealthSettings.from_env())


def ship_documents(docs: list[dict[str, Any]]) -> ShipResult:
    """Ship already-built task-health documents (commands, tests, benchmarks)."""
    settings = TaskHealthSettings.from_env()
    return task_health_shipper(settings).ship([document_action(d, settings.index_prefix) for d in docs])


def emit(*events: HealthEvent) -> ShipResult | None:
    """Ship the events' documents; never raises (a failure is a warning in the task log)."""
    with never_raise("emit"):
        settings = TaskHealthSettings.from_env()
        if not settings.enabled:
            return None
        from include.redaction import redact

        # Whatever a caller put into an event (error text, details, extra), no secret this
        # process knows of reaches Elasticsearch, the spool or the dead letters.
        docs = [build_document(e, redact=redact) for e in events]
        return task_health_shipper(settings).ship([document_action(d, settings.index_prefix) for d in docs])
    return None


@contextlib.contextmanager
def never_raise(what: str) -> Iterator[None]:
    """Task health must never break the task it describes."""
    try:
        yield
    except Exception as err:
        from include.delivery.shipper import describe

        log.warning("task-health %s failed: %s", what, describe(err))
