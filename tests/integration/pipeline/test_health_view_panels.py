"""The dashboards' panels as rows (`include/health_view/panels.py`), against the real node and
the documents a successful and a failing pipeline run left: every row agrees with the documents
themselves, read back and counted here in Python, and a cluster that is down gives each panel a
sentence instead of an exception."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from include.health_view.panels import SEARCH_TIMEOUT_S, Panel, Scope, panel_data, panels
from include.kibana.dashboards import dashboards
from tests.integration.pipeline.scenario import DAY
from tests.session import SESSION_INDEX_PREFIX

DAG_ID = "hourly_anomaly_detection"


@pytest.fixture(scope="module")
def by_key() -> dict[str, Panel]:
    return {p.key: p for p in panels(SESSION_INDEX_PREFIX, os.environ["ANOMALIES_INDEX"])}


@pytest.fixture(scope="module")
def scope(pipeline_run, failing_run) -> Scope:
    """From before the processed day (the anomalies' time field) to now (the events')."""
    return Scope(start=datetime.combine(DAY - timedelta(days=1), datetime.min.time(), UTC),
                 end=datetime.now(UTC) + timedelta(minutes=5), dag_id=DAG_ID)  # fmt: skip


@pytest.fixture
def documents(pipeline_run, failing_run, es) -> list[dict]:
    pattern = f"{SESSION_INDEX_PREFIX}-*"
    es.indices.refresh(index=[pattern, os.environ["ANOMALIES_INDEX"]])
    query = {"term": {"airflow.dag_id": DAG_ID}}
    return [h["_source"] for h in es.search(index=pattern, size=10_000, query=query)["hits"]["hits"]]


def test_every_panel_of_both_dashboards_comes_from_the_one_definition(by_key) -> None:
    assert list(by_key) == [panel.key for board in dashboards() for panel in board.panels]
    assert {p.dashboard for p in by_key.values()} == {"task-health", "model-runs"}


def test_outcomes_count_each_status_the_documents_hold(by_key, scope, documents, es) -> None:
    data = panel_data(es, by_key["outcomes"], scope)
    assert data.state == "ok" and data.columns == ["Time", "Outcome", "Task instances"]
    shown: Counter[str] = Counter()
    for _, status, count in data.rows:
        shown[status] += count
    finished = {"completed", "failed", "up_for_retry", "skipped"}
    held = Counter(d["status"] for d in documents if d["event"] == "task_execution" and d["status"] in finished)
    assert shown == held and held["up_for_retry"] >= 2 and held["failed"] >= 1, "the failing run's tries are in"


def test_response_time_histogram_holds_every_completed_task_in_its_bar(by_key, scope, documents, es) -> None:
    """Each completed task instance is counted once, for its task, in the bar its response time
    falls in: the last bar starting at or below it (bars without documents are not rows)."""
    data = panel_data(es, by_key["response-times"], scope)
    assert data.state == "ok" and data.columns == ["Response time (s)", "Task", "Task runs"]
    lows = sorted({low for low, _, _ in data.rows})
    completed = [d for d in documents if d["event"] == "task_execution" and d["status"] == "completed"]
    held = Counter((max(low for low in lows if low <= d["response_time"]), d["airflow"]["task_id"]) for d in completed)
    assert Counter({(low, task): count for low, task, count in data.rows}) == held


def test_failures_show_the_error_and_each_try_of_the_run_asked_for(by_key, scope, failing_run, pipeline_run, es):
    failures = by_key["latest-failures"]
    data = panel_data(es, failures, Scope(scope.start, scope.end, run_id=failing_run.run_id))
    assert data.state == "ok"
    tries = {row[2]: row for row in data.rows}
    assert sorted(tries) == [1, 2, 3] and {row[1] for row in data.rows} == {"extract"}
    statuses = [tries[n][data.columns.index("Status")] for n in (1, 2, 3)]
    assert statuses == ["up_for_retry", "up_for_retry", "failed"]
    assert all("partition missing" in row[data.columns.index("Error message")] for row in data.rows)
    clean = panel_data(es, failures, Scope(scope.start, scope.end, run_id=pipeline_run.run_id))
    assert (clean.state, clean.rows) == ("empty", []) and clean.message


def test_anomalies_per_region_and_day_are_the_anomalous_rows(by_key, scope, pipeline_run, es) -> None:
    run_scope = Scope(scope.start, scope.end, dag_id=DAG_ID, run_id=pipeline_run.run_id)
    data = panel_data(es, by_key["anomalies-heatmap"], run_scope)
    hits = es.search(index=os.environ["ANOMALIES_INDEX"], size=10_000, query={"term": {"run_id": pipeline_run.run_id}})
    anomalous = Counter((h["_source"]["date"], h["_source"]["region"]) for h in hits["hits"]["hits"]
                        if h["_source"]["is_anomaly"])  # fmt: skip
    assert anomalous, "the demo day has a labelled anomaly"
    assert Counter({(day[:10], region): count for day, region, count in data.rows}) == anomalous
    assert data.unfiltered == [], "the anomalies index's one DAG is the pipeline: a filter on it keeps every row"
    other = panel_data(es, by_key["anomalies-heatmap"], Scope(scope.start, scope.end, dag_id="another_dag"))
    assert (other.state, other.rows, other.message) == ("empty", [], "These rows come from another DAG's runs.")


def test_a_reader_sees_only_the_dags_it_may_read(by_key, scope, documents, es) -> None:
    """`readable_dags` (the auth manager's answer) filters every task-health panel, with no DAG
    asked for, and hides the anomalies of a DAG the reader may not read."""
    reader = Scope(scope.start, scope.end, readable_dags=frozenset({DAG_ID, "a_dag_without_documents"}))
    shown: Counter[str] = Counter()
    for _, status, count in panel_data(es, by_key["outcomes"], reader).rows:
        shown[status] += count
    finished = {"completed", "failed", "up_for_retry", "skipped"}
    held = Counter(d["status"] for d in documents if d["event"] == "task_execution" and d["status"] in finished)
    assert shown == held
    assert panel_data(es, by_key["anomalies-heatmap"], reader).state == "ok"

    stranger = Scope(scope.start, scope.end, readable_dags=frozenset({"a_dag_without_documents"}))
    assert panel_data(es, by_key["outcomes"], stranger).state == "empty"
    hidden = panel_data(es, by_key["anomalies-heatmap"], stranger)
    assert (hidden.state, hidden.rows) == ("forbidden", []) and DAG_ID not in (hidden.message or ""), hidden.message


def test_a_time_range_or_an_index_without_documents_is_empty_not_an_error(by_key, es) -> None:
    long_ago = Scope(datetime(2001, 1, 1, tzinfo=UTC), datetime(2001, 1, 2, tzinfo=UTC))
    recent = Scope(datetime.now(UTC) - timedelta(days=30), datetime.now(UTC))
    never_written = panels("th-never-written", "anomalies-never-written")
    for panel, scope in [(p, long_ago) for p in by_key.values()] + [(p, recent) for p in never_written]:
        data = panel_data(es, panel, scope)
        assert (data.state, data.rows) == ("empty", []) and data.message, (panel.index, panel.key)


def test_a_cluster_that_is_down_gives_each_panel_a_sentence_within_the_bound(by_key) -> None:
    from elasticsearch import Elasticsearch

    down = Elasticsearch("http://127.0.0.1:9", request_timeout=SEARCH_TIMEOUT_S, max_retries=0)
    scope = Scope(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
    for panel in by_key.values():
        started = time.monotonic()
        data = panel_data(down, panel, scope)
        assert time.monotonic() - started < SEARCH_TIMEOUT_S, panel.key
        assert data.state == "unavailable" and data.rows == [], panel.key
        assert data.message and "not reachable" in data.message and "Traceback" not in data.message
