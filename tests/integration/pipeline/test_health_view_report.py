"""The static report (`python -m include.health_view.report`), against the real node and the
documents of the session's successful and failing pipeline runs: every panel of both dashboards
is in the file, each draws exactly the rows its query gives, and those are the documents' figures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from include.health_view.charts import label
from include.health_view.panels import Scope, panel_data, panels
from tests.health_view import drawn_panels, expected_values
from tests.integration.pipeline.scenario import DAY
from tests.session import PROJECT_ROOT, SESSION_INDEX_PREFIX

DAG_ID = "hourly_anomaly_detection"
COMMAND = [sys.executable, "-m", "include.health_view.report"]


@pytest.fixture(scope="module")
def window(pipeline_run, failing_run) -> tuple[datetime, datetime]:
    """From before the processed day (the anomalies' time field) to after the runs' events."""
    return datetime.combine(DAY - timedelta(days=1), datetime.min.time(), UTC), datetime.now(UTC) + timedelta(minutes=5)


@pytest.fixture
def report(window, es, tmp_path) -> str:
    """The command as a user runs it (the connection from the metadata DB), over the runs' window."""
    es.indices.refresh(index=[f"{SESSION_INDEX_PREFIX}-*", os.environ["ANOMALIES_INDEX"]])
    start, end = window
    out = tmp_path / "report.html"
    done = subprocess.run(
        [*COMMAND, "--start", start.isoformat(), "--end", end.isoformat(), "--dag-id", DAG_ID, "--out", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == str(out), done.stderr[-3000:]
    return out.read_text(encoding="utf-8")


def test_every_panel_draws_the_rows_of_its_query(report, window, es) -> None:
    shown = drawn_panels(report)
    scope = Scope(*window, dag_id=DAG_ID)
    every = panels(SESSION_INDEX_PREFIX, os.environ["ANOMALIES_INDEX"])
    assert list(shown.states) == [p.key for p in every]
    for panel in every:
        data = panel_data(es, panel, scope)
        assert shown.states[panel.key] == data.state, panel.key
        if panel.chart == "table":
            assert shown.first_cells[panel.key] == [label(row[0]) for row in data.rows], panel.key
        else:
            assert shown.values[panel.key] == expected_values(panel.chart, data.columns, data.rows), panel.key
    assert {key for key, state in shown.states.items() if state == "ok"} >= {
        "outcomes", "response-times", "latest-failures", "anomalies-heatmap", "anomalies-per-run", "model-version"
    }  # fmt: skip


def test_the_reports_figures_are_the_documents(report, window, es, pipeline_run, failing_run) -> None:
    shown = drawn_panels(report)
    pattern = f"{SESSION_INDEX_PREFIX}-*"
    docs = [
        h["_source"]
        for h in es.search(index=pattern, size=10_000, query={"term": {"airflow.dag_id": DAG_ID}})["hits"]["hits"]
    ]
    finished = {"completed", "failed", "up_for_retry", "skipped"}
    held = Counter(d["status"] for d in docs if d["event"] == "task_execution" and d["status"] in finished)
    outcomes: Counter[str] = Counter()
    for _, status, count in shown.values["outcomes"]:
        outcomes[status] += int(count)
    assert outcomes == held and held["failed"] >= 1
    assert failing_run.run_id in shown.first_cells["latest-failures"], "the failing run's failures are listed"
    in_window = {"range": {"date": {"gte": window[0].date().isoformat(), "lte": window[1].date().isoformat()}}}
    query = {"bool": {"filter": [{"term": {"is_anomaly": True}}, in_window]}}
    hits = es.search(index=os.environ["ANOMALIES_INDEX"], size=10_000, query=query)
    anomalous = Counter((h["_source"]["date"][:10], h["_source"]["region"]) for h in hits["hits"]["hits"])
    drawn = Counter({(day[:10], region): int(count) for day, region, count in shown.values["anomalies-heatmap"]})
    assert anomalous and drawn == anomalous


def test_a_wrong_range_is_refused_with_a_sentence() -> None:
    wrong = subprocess.run([*COMMAND, "--start", "2026-03-09", "--end", "2026-03-01"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert wrong.returncode == 2 and "must be before end" in wrong.stderr and "Traceback" not in wrong.stderr
