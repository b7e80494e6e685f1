"""The `anomalies` index: where the detection rows are searchable (mapping:
`include/elasticsearch/anomalies_template.json`; what is written there: `persist`).

Rows travel through the delivery layer like any document, in a spool of their own
(`<spool root>/anomalies`), so a replay never creates the index without its template.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from include.delivery.settings import DeliverySettings
from include.delivery.shippers import Destination, client, shipper_for
from include.delivery.templates import IndexTemplate, project_template

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from include.delivery.shipper import Shipper

SPOOL_NAME = "anomalies"
# The one DAG whose runs write the index (its rows carry a run id, no DAG id): who may read this
# DAG may read its rows (the task-health page's access check).
WRITER_DAG_ID = "hourly_anomaly_detection"


def anomalies_index() -> str:
    return os.environ.get("ANOMALIES_INDEX", "anomalies")


def anomalies_template(index: str) -> IndexTemplate:
    return project_template("anomalies_template.json", index, [index])


def anomalies_shipper(settings: DeliverySettings | None = None) -> Shipper:
    """The process's shipper of detection rows (settings: the environment's)."""
    return shipper_for(settings or DeliverySettings.from_env(), *anomalies_destination())


def anomalies_destination() -> Destination:
    """Detection rows: the anomalies index, spooled in the spool root's `anomalies/`."""
    return Destination(anomalies_template(anomalies_index()), SPOOL_NAME)


def anomalies_client(settings: DeliverySettings | None = None) -> Elasticsearch:
    return client(settings or DeliverySettings.from_env())
