"""Checks that the services a pipeline run depends on are reachable and usable.

Used by the `stack_check` DAG: it answers "is this Airflow wired to its Elasticsearch and
MLflow?" before any real pipeline run depends on it, with errors that say what to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch


class ElasticsearchReport(TypedDict):
    cluster_name: str | None  # None: the connection's user may not read cluster health
    status: str  # green or yellow; "writer" for a least-privilege writer (see `privileges`)
    nodes: int | None
    privileges: dict[str, dict[str, bool]] | None  # a writer's privileges on the project's indices


class MlflowReport(TypedDict):
    tracking_uri: str
    registered_models: list[str]


def check_elasticsearch(conn_id: str = "elasticsearch_default") -> ElasticsearchReport:
    """Cluster health through the Airflow connection; fails on red or unreachable clusters. A
    least-privilege writer may not read cluster health: for it, the check is that it holds every
    privilege the pipeline needs on the project's indices (which any user may ask about itself)."""
    from elasticsearch import AuthorizationException

    from include.delivery.client import ElasticsearchClientHook

    client = ElasticsearchClientHook(conn_id).client
    try:
        health = client.cluster.health(timeout="5s")
    except AuthorizationException:
        return _writer_report(client, conn_id)
    if health["status"] == "red":
        raise RuntimeError(f"Elasticsearch cluster {health['cluster_name']!r} is red")
    return {
        "cluster_name": health["cluster_name"],
        "status": health["status"],
        "nodes": health["number_of_nodes"],
        "privileges": None,
    }


def _writer_report(client: Elasticsearch, conn_id: str) -> ElasticsearchReport:
    from include.anomaly.index import anomalies_index
    from include.delivery.refusals import ANOMALIES_PRIVILEGES, PRIVILEGES, TASK_HEALTH_PRIVILEGES
    from include.task_health.settings import TaskHealthSettings

    wanted = {
        f"{TaskHealthSettings.from_env().index_prefix}-*": TASK_HEALTH_PRIVILEGES,
        anomalies_index(): ANOMALIES_PRIVILEGES,
    }
    answer = client.security.has_privileges(index=[{"names": [n], "privileges": list(p)} for n, p in wanted.items()])
    held: dict[str, dict[str, bool]] = answer["index"]
    missing = [
        f"{privilege} on {name}" for name, privileges in held.items() for privilege, ok in privileges.items() if not ok
    ]
    if missing:
        raise RuntimeError(
            f"connection {conn_id!r} authenticates as {answer['username']!r}, who lacks {', '.join(sorted(missing))}: "
            f"{PRIVILEGES}"
        )
    return {"cluster_name": None, "status": "writer", "nodes": None, "privileges": held}


def check_mlflow() -> MlflowReport:
    """The tracking store answers and the registry is readable."""
    from mlflow import MlflowClient

    from include.anomaly import mlflow_store

    uri = mlflow_store.configure()
    models = MlflowClient().search_registered_models(max_results=100)
    return {"tracking_uri": uri, "registered_models": sorted(m.name for m in models)}
