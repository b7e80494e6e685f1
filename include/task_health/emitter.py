"""The one way task-health events leave a process: build the document, redact it, hand it to
the process's shipper of the task-health indices.

Kept apart from the callbacks so the operator, the callbacks and the commands share one
shipper (one client, one template check, one circuit breaker) per process and settings.

`emit` waits for Elasticsearch's answer (or the spool). `emit_in_background` hands the events
to the process's task-health thread once its shipper is warm (client made, template checked),
so that a task's `started` document costs the task no round trip; whatever it queued is shipped
before the next `emit` of any other thread (bounded by the delivery time budget): the task's
last document never leaves before its first, and the process never ends with one queued. In a
fresh process (every task under a real scheduler) it ships at once instead: the first shipment
imports the client and checks the template (~0.7 s here), and a task killed meanwhile would
leave no `started`, the document the reconciler needs to see the try ran (the round trip saved
would be under 1 % of that first shipment anyway).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from include.delivery.shippers import Destination, shipper_for
from include.task_health.background import in_background, on_background_thread
from include.task_health.document import HealthEvent, build_document, document_action
from include.task_health.settings import TaskHealthSettings
from include.task_health.templates import task_health_template

if TYPE_CHECKING:
    from include.delivery.shipper import Shipper, ShipResult

log = logging.getLogger("include.task_health")

_queued: list[concurrent.futures.Future[object]] = []
_queued_lock = threading.Lock()
# A forked child has none of its parent's threads: what the parent queued is the parent's to ship.
os.register_at_fork(after_in_child=_queued.clear)


def task_health_destination(settings: TaskHealthSettings) -> Destination:
    """Task-health documents: indices `<prefix>-YYYY.MM`, spooled in the spool root itself."""
    return Destination(task_health_template(settings.index_prefix))


def task_health_shipper(settings: TaskHealthSettings) -> Shipper:
    return shipper_for(settings.delivery, *task_health_destination(settings))


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
        _wait_for_queued(settings.delivery.ship_budget_s)
        from include.redaction import redact

        # Whatever a caller put into an event (error text, details, extra), no secret this
        # process knows of reaches Elasticsearch, the spool or the dead letters.
        docs = [build_document(e, redact=redact) for e in events]
        return task_health_shipper(settings).ship([document_action(d, settings.index_prefix) for d in docs])
    return None


def emit_in_background(*events: HealthEvent) -> None:
    """Ship the events from the task-health thread when this process's shipper is warm, else
    now (see the module docstring). Never raises."""
    with never_raise("emit"):
        settings = TaskHealthSettings.from_env()
        if not (settings.enabled and task_health_shipper(settings).warm):
            emit(*events)
            return
        future = in_background(lambda: emit(*events))
        with _queued_lock:
            _queued.append(future)


def _wait_for_queued(budget_s: float) -> None:
    """Let what `emit_in_background` queued go first (each shipment is bounded by the budget; so
    is this wait). The task-health thread itself never waits: it ships its queue in order."""
    if on_background_thread():
        return
    with _queued_lock:
        queued = list(_queued)
        _queued.clear()
    if queued:
        _, late = concurrent.futures.wait(queued, timeout=budget_s)
        if late:
            log.warning("task-health: %d queued shipment(s) still running after %.1fs", len(late), budget_s)


@contextlib.contextmanager
def never_raise(what: str) -> Iterator[None]:
    """Task health must never break the task it describes."""
    try:
        yield
    except Exception as err:
        from include.delivery.shipper import describe

        log.warning("task-health %s failed: %s", what, describe(err))
