"""The one way events leave a process: build the document, hand it to the process's shipper.

Kept apart from the callbacks so the operator, the callbacks and the commands share one
shipper (one client, one template check, one circuit breaker) per process and settings.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

from include.task_health.document import HealthEvent, build_document
from include.task_health.settings import TaskHealthSettings

if TYPE_CHECKING:
    from include.task_health.shipper import Shipper, ShipResult

log = logging.getLogger("include.task_health")


@cache
def shipper_for(settings: TaskHealthSettings) -> Shipper:
    from include.task_health.es_client import TaskHealthElasticsearchHook
    from include.task_health.shipper import Shipper
    from include.task_health.spool import Spool

    hook = TaskHealthElasticsearchHook(settings.conn_id, request_timeout=settings.request_timeout_s, max_retries=0)
    return Shipper(
        client_factory=lambda: hook.client,
        spool=Spool(settings.spool_dir),
        index_prefix=settings.index_prefix,
        budget_s=settings.ship_budget_s,
        replay_batch_limit=settings.replay_batch_limit,
        cooldown_s=settings.cooldown_s,
        request_timeout_s=settings.request_timeout_s,
    )


def current_shipper() -> Shipper:
    return shipper_for(TaskHealthSettings.from_env())


def emit(*events: HealthEvent) -> ShipResult | None:
    """Ship the events' documents; never raises (a failure is a warning in the task log)."""
    with never_raise("emit"):
        settings = TaskHealthSettings.from_env()
        if not settings.enabled:
            return None
        from include.task_health.shipper import redact

        # Whatever a caller put into an event (error text, details, extra), no secret this
        # process knows of reaches Elasticsearch, the spool or the dead letters.
        return shipper_for(settings).ship_documents([redact(build_document(e)) for e in events])
    return None


@contextlib.contextmanager
def never_raise(what: str) -> Iterator[None]:
    """Task health must never break the task it describes."""
    try:
        yield
    except Exception as err:
        from include.task_health.shipper import describe

        log.warning("task-health %s failed: %s", what, describe(err))
