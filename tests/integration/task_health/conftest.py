"""Isolation for task-health tests: each test gets its own index prefix (and so its own index
template and indices), its own spool directory and an `elasticsearch_default` connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.session import ES_PORT
from tests.support import connection_json, delete_indices


@dataclass
class TaskHealthTarget:
    prefix: str
    spool_dir: Path
    es: Any

    def documents(self) -> list[dict[str, Any]]:
        """Every document under this test's prefix (and prefixes extending it), after a
        refresh, with `_id` and `_index` added."""
        pattern = f"{self.prefix}*"
        if not self.es.indices.exists(index=pattern, allow_no_indices=False):
            return []
        self.es.indices.refresh(index=pattern)
        hits = self.es.search(index=pattern, size=10_000, query={"match_all": {}})["hits"]["hits"]
        return [{**h["_source"], "_id": h["_id"], "_index": h["_index"]} for h in hits]


@pytest.fixture(scope="module")
def task_health(tmp_path_factory, es_url) -> Iterator[TaskHealthTarget]:
    """Module-scoped, so one DAG run can serve several assertions. A test that needs more
    prefixes extends this one without a dash (`<prefix>_x`): `<prefix>-*` does not match
    `<prefix>_x-*`, so each test's documents stay apart; cleanup removes `<prefix>*`."""
    from elasticsearch import Elasticsearch

    es = Elasticsearch(es_url, request_timeout=30)
    prefix = f"th-test-{uuid.uuid4().hex[:10]}"
    spool_dir = tmp_path_factory.mktemp("task-health") / "spool"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
        patch.setenv("TASK_HEALTH_SPOOL_DIR", str(spool_dir))
        patch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(ES_PORT))
        yield TaskHealthTarget(prefix, spool_dir, es)
    delete_indices(es, f"{prefix}*")
    es.close()
