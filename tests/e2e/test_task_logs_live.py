"""Airflow's own task logs in Elasticsearch under a real scheduler: the worker's task supervisor
uploads each finished try's log file (the provider's `ElasticsearchRemoteLogIO`, switched on as
`scripts/env.sh` does it), the API server reads it back by `log_id` (`ElasticsearchTaskHandler`)
and links the try to Kibana. `dag.test()` cannot show this: its in-process supervisor never
uploads."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.e2e.live import BASE, E2E_TASK_LOGS_INDEX
from tests.secured import WRITER
from tests.test_dags.task_logs_es import DAG_ID, MARKER


def log_id_of(run_id: str, task_id: str, map_index: int = -1, try_number: int = 1) -> str:
    """`[elasticsearch] log_id_template`, default `{dag_id}-{task_id}-{run_id}-{map_index}-{try_number}`."""
    return f"{DAG_ID}-{task_id}-{run_id}-{map_index}-{try_number}"


def documents(es, log_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    """One try's documents in offset order. The upload follows the end of the task process, so it
    may land just after the run is reported done; one bulk request, so all lines come at once."""
    deadline = time.monotonic() + timeout
    while True:
        if es.indices.exists(index=E2E_TASK_LOGS_INDEX):
            es.indices.refresh(index=E2E_TASK_LOGS_INDEX)
            hits = es.search(
                index=E2E_TASK_LOGS_INDEX, size=1000, query={"term": {"log_id.keyword": log_id}}, sort=["offset"]
            )["hits"]["hits"]
            if hits or time.monotonic() > deadline:
                return [h["_source"] for h in hits]
        elif time.monotonic() > deadline:
            return []
        time.sleep(0.5)


@pytest.fixture(scope="module")
def run_id(live_airflow) -> str:
    run_id = live_airflow.trigger(DAG_ID)
    assert live_airflow.wait_for_run(DAG_ID, run_id) == "success"
    return run_id


def local_log(home: Path, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
    """The try's log file on the worker (kept: `delete_local_logs` is off), one JSON object a line."""
    task_dir = home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
    path = task_dir / (f"map_index={map_index}" if map_index >= 0 else "") / "attempt=1.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_every_log_line_arrives_under_the_log_id_airflow_reads(run_id, live_airflow, es) -> None:
    docs = documents(es, log_id_of(run_id, "say"))
    lines = local_log(live_airflow.home, run_id, "say")
    assert [d["offset"] for d in docs] == list(range(1, len(lines) + 1)), "one document per line, in file order"
    assert [d["event"] for d in docs] == [line["event"] for line in lines]
    assert {d["log_id"] for d in docs} == {f"{DAG_ID}-say-{run_id}--1-1"}  # map_index -1: not mapped
    assert all({"timestamp", "level", "event", "logger", "log_id", "offset"} <= d.keys() for d in docs)
    assert {f"{MARKER} via print", f"{MARKER} via logging, as {WRITER}:***"} <= {d["event"] for d in docs}

    mapped = documents(es, log_id_of(run_id, "say_mapped", map_index=0))
    assert f"{MARKER} from map index 0" in [d["event"] for d in mapped]


def test_no_document_shows_the_connection_password(run_id, es, writer_login) -> None:
    login, password = writer_login
    docs = documents(es, log_id_of(run_id, "say"))
    assert f"{login}:***" in repr(docs)
    assert password not in repr(docs)


def test_the_ui_reads_the_log_back_from_elasticsearch_and_links_to_kibana(run_id, live_airflow) -> None:
    path = f"{BASE}/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/say"
    # The UI's log view: a stream of JSON lines, ended once the handler finds no more.
    response = requests.get(f"{path}/logs/1", headers={"Accept": "application/x-ndjson"}, timeout=60)
    assert response.ok, response.text[:2000]
    events = [json.loads(line).get("event") for line in response.text.splitlines() if line.strip()]
    es_host = live_airflow.env["AIRFLOW__ELASTICSEARCH__HOST"]
    assert events[:3] == ["::group::Log message source details", es_host, "::endgroup::"], events[:5]
    assert f"{MARKER} via logging, as {WRITER}:***" in events
    assert not any("End of log marker not found" in str(e) for e in events)

    url = requests.get(f"{path}/externalLogUrl/1", timeout=30).json()["url"]
    frontend = live_airflow.env["AIRFLOW__ELASTICSEARCH__FRONTEND"]
    assert url == frontend.format(log_id=quote(log_id_of(run_id, "say")))


def test_the_log_index_has_the_projects_mapping(run_id, es) -> None:
    """install-templates put the task-logs template in place before the first upload: fields the
    UI reads back are mapped, anything else stays in `_source` unindexed (no mapping conflict can
    drop a line)."""
    (mapping,) = es.indices.get_mapping(index=E2E_TASK_LOGS_INDEX).values()
    properties = mapping["mappings"]["properties"]
    assert mapping["mappings"]["dynamic"] == "false"
    assert properties["offset"]["type"] == "long" and properties["timestamp"]["type"] == "date"
    assert properties["log_id"]["fields"]["keyword"]["type"] == "keyword"
