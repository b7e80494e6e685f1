"""The one way events leave a process: build the document, hand it to the process's shipper.

Kept apart from the callbacks so the operator, the callbacks and the commands share one
shipper (one client, one template check, one circuit breaker) per process and settings. The
detection output (`anomalies` index) has a shipper of its own: its own template, and a spool
of its own so that a replay never creates its index without its template.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.task_health.document import HealthEvent, build_document, document_action
from include.task_health.settings import TaskHealthSettings
from include.task_health.templates import IndexTemplate, anomalies_template, task_health_template

if TYPE_CHECKING:
    from include.task_health.shipper import Shipper, ShipResult

log = logging.getLogger("include.task_health")


def _shipper(settings: TaskHealthSettings, template: IndexTemplate, spool_dir: Path) -> Shipper:
    import logging as stdlib_logging

    from include.task_health.es_client import TaskHealthElasticsearchHook
    from include.task_health.shipper import Shipper
    from include.task_health.spool import Spool

    # One INFO line per request would flood every task log; warnings and errors still show.
    stdlib_logging.getLogger("elastic_transport.transport").setLevel(stdlib_logging.WARNING)
    hook = TaskHealthElasticsearchHook(settings.conn_id, request_timeout=settings.request_timeout_s, max_retries=0)
    return Shipper(
        client_factory=lambda: hook.client,
        spool=Spool(spool_dir),
        template=template,
        budget_s=settings.ship_budget_s,
        replay_batch_limit=settings.replay_batch_limit,
        cooldown_s=settings.cooldown_s,
        request_timeout_s=settings.request_timeout_s,
    )


@cache
def shipper_for(settings: TaskHealthSettings) -> Shipper:
    """Task-health documents: indices `<prefix>-YYYY.MM`."""
    return _shipper(settings, task_health_template(settings.index_prefix), settings.spool_dir)


@cache
def anomalies_shipper_for(settings: TaskHealthSettings) -> Shipper:
    """Detection output rows: the `anomalies` index."""
    return _shipper(settings, anomalies_template(settings.anomalies_index), settings.spool_dir / "anomalies")


def current_shipper() -> Shipper:
    return shipper_for(TaskHealthSettings.from_env())


def ship_documents(docs: list[dict[str, Any]]) -> ShipResult:
    """Ship already-built task-health documents (commands, tests, benchmarks)."""
    settings = TaskHealthSettings.from_env()
    return shipper_for(settings).ship([document_action(d, settings.index_prefix) for d in docs])


def emit(*events: HealthEvent) -> ShipResult | None:
    """Ship the events' documents; never raises (a failure is a warning in the task log)."""
    with never_raise("emit"):
        settings = TaskHealthSettings.from_env()
        if not settings.enabled:
            return None
        from include.task_health.shipper import redact

        # Whatever a caller put into an event (error text, details, extra), no secret this
        # process knows of reaches Elasticsearch, the spool or the dead letters.
        docs = [redact(build_document(e)) for e in events]
        return shipper_for(settings).ship([document_action(d, settings.index_prefix) for d in docs])
    return None


@contextlib.contextmanager
def never_raise(what: str) -> Iterator[None]:
    """Task health must never break the task it describes."""
    try:
        yield
    except Exception as err:
        from include.task_health.shipper import describe

        log.warning("task-health %s failed: %s", what, describe(err))
