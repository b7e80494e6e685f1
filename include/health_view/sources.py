"""Where the page and the report read from: the project's indices (the environment's names),
through one client per process of the connection TASK_HEALTH_VIEW_CONN_ID names (default: the
one task health writes with, TASK_HEALTH_CONN_ID): a deployment may give the page a user of its
own that may only read the task-health and anomalies indices."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from typing import TYPE_CHECKING

from include.anomaly.index import anomalies_index
from include.delivery.settings import DeliverySettings
from include.delivery.shipper import describe
from include.delivery.shippers import client
from include.health_view.panels import SEARCH_TIMEOUT_S, Panel, PanelData, Scope, all_panel_data, columns, panels
from include.task_health.settings import TaskHealthSettings

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)


def project_panels() -> list[Panel]:
    """Every panel, over the indices this deployment writes (TASK_HEALTH_INDEX_PREFIX, ANOMALIES_INDEX)."""
    return panels(TaskHealthSettings.from_env().index_prefix, anomalies_index())


def results(scope: Scope, timeout_s: float = SEARCH_TIMEOUT_S) -> list[PanelData]:
    """Every panel over `scope`. A connection that cannot make a client (not defined, a bad
    extra) makes every panel `unavailable` with the reason (masked), never an exception."""
    found = project_panels()
    settings = view_settings()
    try:
        es = _client(settings)
    except Exception as err:  # the reader gets the kind of error; the detail (masked) goes to the log
        log.warning("task-health view: no client from the connection %s: %s", settings.conn_id, describe(err))
        message = f"No Elasticsearch client from the connection {settings.conn_id} ({type(err).__name__})."
        return [PanelData(p, columns(p), [], "unavailable", message) for p in found]
    return all_panel_data(es, found, scope, timeout_s)


def view_settings() -> DeliverySettings:
    settings = DeliverySettings.from_env()
    return dataclasses.replace(settings, conn_id=os.environ.get("TASK_HEALTH_VIEW_CONN_ID", settings.conn_id))


@functools.cache
def _client(settings: DeliverySettings) -> Elasticsearch:
    """A client made once per settings: building one reads the connection (~10 ms); searches share its pool."""
    logging.getLogger("elastic_transport.transport").setLevel(logging.WARNING)  # not a line per search
    return client(settings)
