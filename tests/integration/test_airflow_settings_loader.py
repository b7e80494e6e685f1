"""After loading airflow_settings.yaml, Airflow itself resolves `elasticsearch_default` to the
local node, and a client built from that connection indexes and searches for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from tests.session import ES_PORT

RESOLVE_CONNECTION = """
import json
from airflow.sdk import BaseHook
conn = BaseHook.get_connection("elasticsearch_default")
print(json.dumps([conn.conn_type, conn.host, conn.port, conn.schema, conn.password]))
"""


def test_connection_resolves_through_airflow(loaded_settings) -> None:
    # A fresh process, as the scheduler or API server would be: outside a task the SDK reads
    # the metadata DB only in a process that declares the server context.
    result = subprocess.run(
        [sys.executable, "-c", RESOLVE_CONNECTION],
        capture_output=True,
        text=True,
        env={**os.environ, "_AIRFLOW_PROCESS_CONTEXT": "server"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    conn_type, host, port, schema, password = json.loads(result.stdout.strip().splitlines()[-1])
    assert (conn_type, host, port, schema) == ("elasticsearch", "localhost", ES_PORT, "http")
    assert not password


def test_client_from_the_connection_indexes_and_searches(loaded_settings, es) -> None:
    from airflow.models.connection import Connection
    from elasticsearch import Elasticsearch

    from include.delivery.client import client_options, connection_fields

    conn = Connection.get_connection_from_secrets("elasticsearch_default")
    index = f"test-settings-{uuid.uuid4().hex[:8]}"
    client = Elasticsearch(**client_options(connection_fields(conn)))
    try:
        client.index(index=index, id="doc-1", document={"source": "airflow_settings.yaml"}, refresh=True)
        hits = client.search(index=index, query={"term": {"_id": "doc-1"}})["hits"]["hits"]
        assert [h["_source"] for h in hits] == [{"source": "airflow_settings.yaml"}]
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)


def test_pool_from_the_file_exists(loaded_settings) -> None:
    from airflow.models.pool import Pool

    pool = Pool.get_pool("model_registry")
    assert pool is not None and pool.slots == 1
