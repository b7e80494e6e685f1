"""Checks that the services a pipeline run depends on are reachable and usable.

Used by the `stack_check` DAG: it answers "is this Airflow wired to its Elasticsearch and
MLflow?" before any real pipeline run depends on it, with errors that say what to fix.
"""

from __future__ import annotations

from typing import TypedDict


class ElasticsearchReport(TypedDict):
    cluster_name: str
    status: str  # green or yellow
    nodes: int


class MlflowReport(TypedDict):
    tracking_uri: str
    registered_models: list[str]


def check_elasticsearch(conn_id: str = "elasticsearch_default") -> ElasticsearchReport:
    """Cluster health through the Airflow connection; fails on red or unreachable clusters."""
    from include.delivery.client import ElasticsearchClientHook

    health = ElasticsearchClientHook(conn_id).client.cluster.health(timeout="5s")
    if health["status"] == "red":
        raise RuntimeError(f"Elasticsearch cluster {health['cluster_name']!r} is red")
    return {"cluster_name": health["cluster_name"], "status": health["status"], "nodes": health["number_of_nodes"]}


def check_mlflow() -> MlflowReport:
    """The tracking store answers and the registry is readable."""
    from mlflow import MlflowClient

    from include.anomaly import mlflow_store

    uri = mlflow_store.configure()
    models = MlflowClient().search_registered_models(max_results=100)
    return {"tracking_uri": uri, "registered_models": sorted(m.name for m in models)}
