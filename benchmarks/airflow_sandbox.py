"""A throw-away Airflow for benchmarks: own AIRFLOW_HOME, migrated SQLite DB, and DAG bundles
(`benchmarks/dags` unless told otherwise). Call `prepare()` before anything imports Airflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DAGS = Path(__file__).resolve().parent / "dags"
PROJECT_DAGS = Path(__file__).resolve().parents[1] / "dags"
PROJECT_PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def prepare(dag_folders: dict[str, Path] | None = None) -> Path:
    """`dag_folders`: {bundle name: folder}; `dag.test()` runs only DAGs a bundle holds."""
    if "airflow" in sys.modules:
        raise RuntimeError("prepare() must run before Airflow is imported")
    home = Path(tempfile.mkdtemp(prefix="airflow-bench-"))
    from cryptography.fernet import Fernet

    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
                [
                    {
                        "name": name,
                        "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                        "kwargs": {"path": str(folder)},
                    }
                    for name, folder in (dag_folders or {"bench-dags": BENCH_DAGS}).items()
                ]
            ),
        }
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return home


def point_task_health_at(port: int, name: str) -> str:
    """Send this process's (and its children's) task-health documents to the node on `port`
    under a fresh index prefix `bench-<name>-…`, spooling in a temporary directory; the prefix."""
    import uuid

    prefix = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        {
            "TASK_HEALTH_INDEX_PREFIX": prefix,
            "TASK_HEALTH_SPOOL_DIR": tempfile.mkdtemp(prefix="bench-spool-"),
            "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT": json.dumps(
                {"conn_type": "elasticsearch", "host": "localhost", "port": port, "schema": "http"}
            ),
        }
    )
    return prefix


def drop_task_health(es, prefix: str) -> None:
    """Delete what `point_task_health_at`'s prefix left on the node: its indices and template."""
    for index in es.indices.get(index=f"{prefix}-*", allow_no_indices=True):
        es.indices.delete(index=index)
    es.options(ignore_status=404).indices.delete_index_template(name=prefix)


def load_dag(dag_id: str, folder: Path = BENCH_DAGS):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder))
    if bag.import_errors:
        raise RuntimeError(bag.import_errors)
    return bag.get_dag(dag_id)
