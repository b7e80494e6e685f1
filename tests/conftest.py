"""Session-wide isolation and the real services tests share.

Each test session gets its own AIRFLOW_HOME (a migrated SQLite metadata DB) and its own MLflow
store, set here before anything imports Airflow or MLflow, so tests never touch a developer's
`.state/` nor a running scheduler's database. Elasticsearch is the real local node
(`scripts/elasticsearch.sh start`, done by `make test`); tests use their own unique indices.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

if "airflow" in sys.modules:
    raise RuntimeError(
        "Airflow was imported before tests/conftest.py could isolate AIRFLOW_HOME; "
        "its settings would point at a developer's database. Find the early import (plugins, "
        "pyproject filterwarnings) and remove it."
    )

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
SESSION_DIR = Path(tempfile.mkdtemp(prefix="airflow-anomaly-tests-"))
SESSION_INDEX_PREFIX = f"th-session-{uuid.uuid4().hex[:10]}"

os.environ.update(
    {
        "AIRFLOW_HOME": str(SESSION_DIR / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # dag.test() only runs DAGs it finds in a configured bundle: the project's DAGs plus
        # the test DAGs (which fail on purpose and so must never be in dags/).
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(
            [
                {
                    "name": name,
                    "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                    "kwargs": {"path": path},
                }
                for name, path in (
                    ("dags-folder", str(PROJECT_ROOT / "dags")),
                    ("test-dags", str(PROJECT_ROOT / "tests" / "test_dags")),
                )
            ]
        ),
        "MLFLOW_TRACKING_URI": f"sqlite:///{SESSION_DIR / 'mlflow' / 'mlflow.db'}",
        "STATE_DIR": str(SESSION_DIR),
        # Task-health documents of this session never mix with a developer's task-health-*.
        "TASK_HEALTH_INDEX_PREFIX": SESSION_INDEX_PREFIX,
        "ANOMALIES_INDEX": f"{SESSION_INDEX_PREFIX}_anomalies",  # not matched by `<prefix>-*`
        "DATA_ROOT": (SESSION_DIR / "data").as_uri(),
        # One key for this process and its subprocesses: whichever creates airflow.cfg first
        # must not leave the others unable to decrypt connection extras.
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
)
os.environ.pop("MLFLOW_ARTIFACT_ROOT", None)
ES_PORT = int(os.environ.get("ES_PORT", "9200"))
ES_URL = f"http://127.0.0.1:{ES_PORT}"


_USED_ELASTICSEARCH = False


def delete_indices(es, pattern: str) -> None:
    """Delete the indices and index templates matching `pattern` (the cluster refuses wildcard
    deletes of indices, so they are listed and named)."""
    names = list(es.indices.get(index=pattern, allow_no_indices=True))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=pattern)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(SESSION_DIR, ignore_errors=True)
    if not _USED_ELASTICSEARCH:
        return
    try:
        from elasticsearch import Elasticsearch

        with Elasticsearch(ES_URL, request_timeout=10) as es:
            delete_indices(es, f"{SESSION_INDEX_PREFIX}*")
    except Exception as err:  # cleanup must not hide the test outcome
        print(f"could not remove this session's task-health indices: {err}")


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata DB in this session's AIRFLOW_HOME (≈ 10 s, once per session)."""
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, env=os.environ
    )
    assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return Path(os.environ["AIRFLOW_HOME"])


@pytest.fixture(scope="session")
def loaded_settings(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The project's airflow_settings.yaml applied (twice: a re-run must be a harmless upsert),
    with the Elasticsearch port of this session. AIRFLOW_CONN_ELASTICSEARCH_DEFAULT is removed
    from the environment so connections resolve from the metadata DB, as in production."""
    os.environ.pop("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", None)
    text = (PROJECT_ROOT / "airflow_settings.yaml").read_text().replace("conn_port: 9200", f"conn_port: {ES_PORT}")
    path = tmp_path_factory.mktemp("settings") / "airflow_settings.yaml"
    path.write_text(text)
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "scripts.load_airflow_settings", str(path)],
            capture_output=True,
            text=True,
            env=os.environ,
            cwd=PROJECT_ROOT,
        )
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def es_url() -> str:
    """The local Elasticsearch node; a clear failure when it is not running."""
    import urllib.request

    global _USED_ELASTICSEARCH
    _USED_ELASTICSEARCH = True
    try:
        with urllib.request.urlopen(f"{ES_URL}/_cluster/health?wait_for_status=yellow&timeout=10s", timeout=15):
            pass
    except OSError as err:
        pytest.fail(f"Elasticsearch is not reachable at {ES_URL} ({err}); run `make test` or `make es-up`")
    return ES_URL


@pytest.fixture
def es(es_url: str):
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url, request_timeout=10)
    yield client
    client.close()


@pytest.fixture
def unique_index(es) -> Iterator[str]:
    """A fresh index name for one test, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)
