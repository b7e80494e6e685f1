"""One shipper per destination and process: one client, one template check, one circuit breaker.

A destination is an index template plus the spool directory (under the settings' spool root)
of the actions it could not take yet; each has its own spool so that a replay never creates an
index without its template.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, NamedTuple

from include.delivery.client import ElasticsearchClientHook
from include.delivery.settings import DeliverySettings
from include.delivery.templates import IndexTemplate

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from include.delivery.shipper import Shipper


class Destination(NamedTuple):
    """Where one producer's documents go: an index template, and the directory (under the
    spool root; "" for the root itself) of what the cluster could not take yet."""

    template: IndexTemplate
    spool_name: str = ""


_SHIPPERS: dict[tuple[DeliverySettings, str, str], Shipper] = {}
# A forked child (a LocalExecutor worker, a task process) makes its own: the parent's client
# holds the parent's connections, and two processes on one socket garble each other's requests.
os.register_at_fork(after_in_child=_SHIPPERS.clear)


def client(settings: DeliverySettings, request_timeout_s: float | None = None) -> Elasticsearch:
    """A client of the settings' cluster that fails fast (no client-side retries)."""
    timeout = settings.request_timeout_s if request_timeout_s is None else request_timeout_s
    return ElasticsearchClientHook(settings.conn_id, request_timeout=timeout, max_retries=0).client


def new_shipper(settings: DeliverySettings, template: IndexTemplate, spool_name: str = "") -> Shipper:
    """A shipper of its own (tests, replays that must not share a circuit breaker)."""
    from include.delivery.shipper import Shipper
    from include.delivery.spool import Spool

    # One INFO line per request would flood every task log; warnings and errors still show.
    logging.getLogger("elastic_transport.transport").setLevel(logging.WARNING)
    return Shipper(
        client_factory=lambda: client(settings),  # called once, on the shipper's first delivery
        spool=Spool(settings.spool_root / spool_name if spool_name else settings.spool_root),
        template=template,
        budget_s=settings.ship_budget_s,
        replay_batch_limit=settings.replay_batch_limit,
        cooldown_s=settings.cooldown_s,
        request_timeout_s=settings.request_timeout_s,
        manage_templates=settings.manage_templates,
        conn_id=settings.conn_id,
    )


def shipper_for(settings: DeliverySettings, template: IndexTemplate, spool_name: str = "") -> Shipper:
    """The process's shipper of `template`'s destination (created on first use)."""
    key = (settings, template.name, spool_name)
    if key not in _SHIPPERS:
        _SHIPPERS[key] = new_shipper(settings, template, spool_name)
    return _SHIPPERS[key]


def import_for_forks() -> None:
    """Import what a process's first shipment imports (the Elasticsearch client, the shipper, its
    spool and templates), so that processes forked from this one inherit the modules instead of
    importing them cold: under the LocalExecutor every task process is forked from a worker, and
    every worker from the scheduler (benchmarks/bench_fork.py measures what it saves). No
    connection is made: a fork must never share one (`_SHIPPERS` is cleared in the child)."""
    import elasticsearch  # noqa: F401
    import elasticsearch.helpers  # noqa: F401

    from include.delivery import shipper, spool, templates  # noqa: F401


def process_shippers() -> list[Shipper]:
    """The shippers this process has used so far (what it may have spooled)."""
    return list(_SHIPPERS.values())
