"""The page as a document (`include/health_view/page.py`): the scope a user may ask for, with a
sentence for each wrong one, and what the page says when no panel can show anything."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from include.health_view.page import BadScope, ScopeRequest, render_page, scope_of
from include.health_view.panels import PanelData, Scope, columns, panels

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_the_default_scope_is_the_last_seven_days_and_filters_pass_through() -> None:
    scope = scope_of(ScopeRequest(dag_id="d", run_id="r", task_id="t", map_index=-1), NOW)
    assert (scope.start, scope.end) == (NOW - timedelta(days=7), NOW)
    assert scope.filters() == {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1}


def test_a_start_without_a_zone_is_utc_and_the_end_defaults_to_now() -> None:
    scope = scope_of(ScopeRequest(start="2026-03-02T06:00"), NOW)
    assert scope.start == datetime(2026, 3, 2, 6, tzinfo=UTC) and scope.end == NOW
    whole_days = scope_of(ScopeRequest(start="2026-03-01", end="2026-03-05"), NOW)
    assert (whole_days.start, whole_days.end) == (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC))
    noon = scope_of(ScopeRequest(start="2026-03-01", end="2026-03-05T12:00"), NOW)
    assert noon.end == datetime(2026, 3, 5, 12, tzinfo=UTC)
    assert scope_of(ScopeRequest(days=1.5), NOW).start == NOW - timedelta(hours=36)


@pytest.mark.parametrize(
    ("asked", "says"),
    [
        (ScopeRequest(start="yesterday"), "start must be a date or time"),
        (ScopeRequest(start="2026-03-09", end="2026-03-01"), "must be before end"),
        (ScopeRequest(start="2026-03-01", days=3), "either start (and end) or days"),
        (ScopeRequest(days=0), "days must be more than 0"),
        (ScopeRequest(start="2020-01-01"), "at most 400 days"),
        (ScopeRequest(map_index=-2), "map_index must be -1"),
    ],
)
def test_a_wrong_scope_is_a_sentence_saying_what_to_change(asked, says) -> None:
    with pytest.raises(BadScope, match=re.escape(says)):
        scope_of(asked, NOW)


def _all(state: str, message: str) -> list[PanelData]:
    return [PanelData(p, columns(p), [], state, message) for p in panels("th", "anomalies")]  # type: ignore[arg-type]


def test_a_cluster_that_is_down_is_said_once_above_the_panels() -> None:
    scope = Scope(NOW - timedelta(days=1), NOW)
    html = render_page(_all("unavailable", "Elasticsearch is not reachable (ConnectionError)."), scope, NOW,
                       with_form=True)  # fmt: skip
    assert 'class="banner down" role="alert">Elasticsearch is not reachable (ConnectionError).' in html
    assert html.count('data-state="unavailable"') == len(panels("th", "anomalies"))


def test_no_documents_in_range_is_said_and_the_form_keeps_the_filters() -> None:
    scope = Scope(NOW - timedelta(days=1), NOW, dag_id="hourly_anomaly_detection", map_index=3)
    html = render_page(_all("empty", "No documents in this time range and filter."), scope, NOW, with_form=True)
    assert "No task-health documents in this time range and filter." in html
    assert '<input type="hidden" name="dag_id" value="hourly_anomaly_detection">' in html
    assert '<input type="hidden" name="map_index" value="3">' in html
    assert 'name="start" value="2026-03-09T12:00"' in html


def test_the_page_never_lists_the_dags_its_reader_may_read_and_the_report_has_no_form() -> None:
    scope = Scope(NOW - timedelta(days=1), NOW, readable_dags=frozenset({"secret_dag"}))
    page = render_page(_all("empty", "none"), scope, NOW, with_form=True)
    assert "secret_dag" not in page and "every DAG you may read" in page and "<form" in page
    report = render_page(_all("empty", "none"), Scope(NOW - timedelta(days=1), NOW), NOW, with_form=False)
    assert "<form" not in report and "every DAG ·" in report


def test_a_cluster_that_never_answers_still_gives_the_page_within_the_bound() -> None:
    """A node that takes the connection and says nothing (the slow way to be down): every panel
    searches at once, each bounded, so the page is there within two searches' bound."""
    import socket
    import time

    from elasticsearch import Elasticsearch

    from include.health_view.api import PAGE_TIMEOUT_S
    from include.health_view.panels import all_panel_data

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        es = Elasticsearch(f"http://127.0.0.1:{silent.getsockname()[1]}", max_retries=0)
        scope = Scope(NOW - timedelta(days=1), NOW)
        started = time.monotonic()
        results = all_panel_data(es, panels("th", "anomalies"), scope, PAGE_TIMEOUT_S)
        elapsed = time.monotonic() - started
    assert elapsed < 2 * PAGE_TIMEOUT_S, "the first panel to time out stops the others waiting"
    assert {r.state for r in results} == {"unavailable"}
    html = render_page(results, scope, NOW, with_form=True)
    assert "Elasticsearch is not reachable: no data for this panel." in html and "Traceback" not in html
    assert "127.0.0.1" not in html, "no address of the cluster reaches the reader"


class _Answers:
    """A client whose searches answer `body` (what a cluster under strain can send back)."""

    def __init__(self, body: dict) -> None:
        self.body = body

    def options(self, **_: object) -> _Answers:
        return self

    def search(self, **_: object) -> _Answers:
        return self


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"timed_out": True, "_shards": {"total": 1, "successful": 1, "failed": 0}}, "did not finish this search"),
        ({"timed_out": False, "_shards": {"total": 2, "successful": 1, "failed": 1}}, "searched 1 of 2 shards"),
    ],
)
def test_partial_figures_are_never_shown_as_complete(body, says) -> None:
    from include.health_view.panels import panel_data

    panel = next(p for p in panels("th", "anomalies") if p.key == "outcomes")
    data = panel_data(_Answers({**body, "aggregations": {}}), panel, Scope(NOW - timedelta(days=1), NOW))  # type: ignore[arg-type]
    assert data.state == "unavailable" and says in (data.message or "") and data.rows == []
