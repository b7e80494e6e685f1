"""Elasticsearch down: real task runs still succeed and every event goes to the spool; after the
node starts, the replay command delivers each event exactly once (and again changes nothing).

Uses its own node (scripts/elasticsearch.sh on a separate port) so stopping it never disturbs
the node the rest of the suite uses.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.integration.task_health.dags import load_dag
from tests.support import connection_json, delete_indices, delivery_command, spool_entry, spooled_actions, state_of

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PORT = int(os.environ.get("ES_OUTAGE_TEST_PORT", "9252"))
EXPECTED_EVENTS = 250 * 4 + 1  # per mapped task: task started/completed + model started/completed; + dag_run


def node(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PROJECT_ROOT / "scripts" / "elasticsearch.sh"), command],
        capture_output=True,
        text=True,
        env={**os.environ, "ES_PORT": str(PORT)},
        timeout=300,
    )


def port_open() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", PORT)) == 0


@pytest.fixture(scope="module")
def outage(task_health, airflow_db):
    """The task-health connection points at a node that is not running (yet)."""
    assert not port_open(), f"port {PORT} is in use; set ES_OUTAGE_TEST_PORT"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(PORT))
        yield task_health
    if port_open():
        from elasticsearch import Elasticsearch

        with Elasticsearch(f"http://127.0.0.1:{PORT}", request_timeout=30) as es:
            delete_indices(es, f"{task_health.prefix}*")
    node("stop")


def replay_command() -> dict:
    report = delivery_command("replay", check=True).report
    assert spool_entry(report, os.environ["ANOMALIES_INDEX"])["still_spooled"] == 0
    return spool_entry(report, os.environ["TASK_HEALTH_INDEX_PREFIX"])


def test_nothing_is_lost_while_elasticsearch_is_down(outage) -> None:
    from elasticsearch import Elasticsearch

    dag_run = load_dag("th_many_events").test()
    assert state_of(dag_run) == "success", "tasks must not fail because of ES"

    spooled = spooled_actions(outage.spool_dir)  # a task's exit drain may have claimed a batch and kept it
    assert len(spooled) == EXPECTED_EVENTS
    assert len({a["_id"] for a in spooled}) == EXPECTED_EVENTS

    started = node("start")
    assert started.returncode == 0, started.stderr
    report = replay_command()
    assert report["replayed"] == EXPECTED_EVENTS and report["still_spooled"] == 0

    es = Elasticsearch(f"http://127.0.0.1:{PORT}", request_timeout=30)
    index = f"{outage.prefix}-*"
    es.indices.refresh(index=index)
    assert es.count(index=index)["count"] == EXPECTED_EVENTS
    ids = {h["_id"] for h in es.search(index=index, size=10_000, source=False)["hits"]["hits"]}
    assert ids == {a["_id"] for a in spooled}

    # A batch left behind by a replay that crashed is replayed again: it changes nothing.
    outage.spool_dir.joinpath("replay-1-1.jsonl").write_text("".join(json.dumps(a) + "\n" for a in spooled))
    assert replay_command()["replayed"] == EXPECTED_EVENTS
    es.indices.refresh(index=index)
    assert es.count(index=index)["count"] == EXPECTED_EVENTS
