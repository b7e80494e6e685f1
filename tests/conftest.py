"""The real services tests share, and each directory's marker.

`tests/session` isolates the session (its own AIRFLOW_HOME, MLflow store, data root and index
prefix) when it is imported, first thing here. Elasticsearch is the real local node
(`scripts/elasticsearch.sh start`, done by `make test`); tests use their own unique indices.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.secured import SecuredNode, script
from tests.session import ES_PORT, ES_URL, PROJECT_ROOT, SECURED_ES_PORT, SESSION_DIR, SESSION_INDEX_PREFIX
from tests.support import delete_indices

# The marker of every test under each directory of tests/ (`-m "not e2e"` skips the live scheduler).
MARKER_BY_DIRECTORY = {"unit": "unit", "dags": "unit", "integration": "integration", "e2e": "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        directory = item.path.relative_to(PROJECT_ROOT / "tests").parts[0]
        item.add_marker(MARKER_BY_DIRECTORY[directory])


_USED_ELASTICSEARCH = False


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus != 0 and os.environ.get("TESTS_KEEP_FAILED_SESSION"):
        print(f"\nkept the failed session's directory (Airflow homes, logs, spools): {SESSION_DIR}")
    else:
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
def secured_node() -> Iterator[SecuredNode]:
    """The secured node (tests/secured.py): started unless running, with the writer's role for
    the tests' prefixes; stopped at the end only if this fixture started it."""
    started = script("start")
    assert started.returncode == 0, f"the secured Elasticsearch did not start:\n{started.stderr[-3000:]}"
    yield SecuredNode(SECURED_ES_PORT)
    if "(reused)" not in started.stderr:
        script("stop")


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
