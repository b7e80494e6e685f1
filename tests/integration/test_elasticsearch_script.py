"""scripts/elasticsearch.sh runs a real node: start, use, reuse, stop, port closed.

Uses its own port so it never disturbs the node the rest of the suite is using.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "elasticsearch.sh"
PORT = int(os.environ.get("ES_SCRIPT_TEST_PORT", "9251"))


def run_script(command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ES_PORT": str(PORT)}
    return subprocess.run([str(SCRIPT), command], capture_output=True, text=True, env=env, timeout=300)


def port_is_open() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", PORT)) == 0


@pytest.fixture
def node():
    assert not port_is_open(), f"port {PORT} is already in use; set ES_SCRIPT_TEST_PORT"
    yield
    run_script("stop")


def test_start_use_reuse_stop(node) -> None:
    from elasticsearch import Elasticsearch

    started = run_script("start")
    assert started.returncode == 0, started.stderr
    client = Elasticsearch(f"http://127.0.0.1:{PORT}", request_timeout=10)
    assert client.cluster.health(wait_for_status="yellow", timeout="30s")["status"] in {"yellow", "green"}

    client.index(index="script-test", id="1", document={"message": "hello from the script test"})
    client.indices.refresh(index="script-test")
    hits = client.search(index="script-test", query={"match": {"message": "hello"}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["1"]

    pid_before = run_script("status")
    again = run_script("start")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr and "reused" in again.stderr
    assert run_script("status").stderr == pid_before.stderr, "a second start must not replace the node"

    stopped = run_script("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not port_is_open(), f"port {PORT} still open after stop"
    assert run_script("status").returncode == 3
