"""A cluster that accepts connections but never answers (a hung node, a black-holed route)
holds a callback for at most the shipping budget, and the event is spooled, not lost."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from include.delivery.shipper import Shipper
from include.delivery.spool import Spool
from include.task_health.templates import task_health_template


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback TCP server that accepts and then says nothing."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_silent_cluster_costs_at_most_the_budget(silent_server, tmp_path) -> None:
    import airflow.sdk  # noqa: F401  (loaded in every task process before a callback runs)
    from elasticsearch import Elasticsearch

    client = Elasticsearch(f"http://127.0.0.1:{silent_server}", request_timeout=30, max_retries=0)
    template = task_health_template("th-budget")
    shipper = Shipper(lambda: client, Spool(tmp_path), template, budget_s=1.5, request_timeout_s=1.0)
    action = {"_index": "th-budget-2026.01", "_id": "a", "_source": {"n": 1}}
    started = time.monotonic()
    result = shipper.ship([action])
    elapsed = time.monotonic() - started
    assert result.spooled == 1 and Spool(tmp_path).count() == 1
    assert elapsed < 2.0, f"took {elapsed:.2f}s for a 1.5s budget"
