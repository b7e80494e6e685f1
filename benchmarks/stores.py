"""Stores of a benchmark's own: a state directory (MLflow store, spool), and indices and index
templates in the local Elasticsearch under one prefix, removed when it is done, so a benchmark
never writes into a developer's registry, spool or dashboards."""

from __future__ import annotations

import json
import os
from pathlib import Path


def isolate(state: Path, port: int, prefix: str) -> None:
    """Point this process's settings at `state` and at indices named `prefix…` on `port`."""
    os.environ.update(
        {
            "STATE_DIR": str(state),
            "MLFLOW_TRACKING_URI": f"sqlite:///{state / 'mlflow.db'}",
            "TASK_HEALTH_INDEX_PREFIX": prefix,
            "ANOMALIES_INDEX": f"{prefix}_anomalies",
            "TASK_HEALTH_SPOOL_DIR": str(state / "spool"),
            "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT": json.dumps(
                {"conn_type": "elasticsearch", "host": "localhost", "port": port, "schema": "http"}
            ),
        }
    )


def remove(port: int, prefix: str) -> None:
    """Delete every index and index template whose name starts with `prefix`."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(f"http://127.0.0.1:{port}", request_timeout=30)
    for index in es.indices.get(index=f"{prefix}*", expand_wildcards="all"):
        es.indices.delete(index=index)
    for template in es.indices.get_index_template(name=f"{prefix}*")["index_templates"]:
        es.indices.delete_index_template(name=template["name"])
