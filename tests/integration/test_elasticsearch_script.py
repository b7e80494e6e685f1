"""scripts/elasticsearch.sh runs a real node: start, use, reuse, stop, port closed.

Uses its own port so it never disturbs the node the rest of the suite is using.
"""

from __future__ import annotations

import os

import pytest

from tests.support import ServiceScript

SCRIPT = ServiceScript("elasticsearch", "ES_PORT", int(os.environ.get("ES_SCRIPT_TEST_PORT", "9251")))
PORT = SCRIPT.port


@pytest.fixture
def node():
    with SCRIPT.on_a_free_port("ES_SCRIPT_TEST_PORT"):
        yield


def test_start_use_reuse_stop(node) -> None:
    from elasticsearch import Elasticsearch

    started = SCRIPT.run("start")
    assert started.returncode == 0, started.stderr
    client = Elasticsearch(f"http://127.0.0.1:{PORT}", request_timeout=10)
    assert client.cluster.health(wait_for_status="yellow", timeout="30s")["status"] in {"yellow", "green"}

    client.index(index="script-test", id="1", document={"message": "hello from the script test"})
    client.indices.refresh(index="script-test")
    hits = client.search(index="script-test", query={"match": {"message": "hello"}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["1"]

    pid_before = SCRIPT.run("status")
    again = SCRIPT.run("start")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr and "reused" in again.stderr
    assert SCRIPT.run("status").stderr == pid_before.stderr, "a second start must not replace the node"

    stopped = SCRIPT.run("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not SCRIPT.port_is_open(), f"port {PORT} still open after stop"
    assert SCRIPT.run("status").returncode == 3
