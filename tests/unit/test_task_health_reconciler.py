"""Which tries the reconciler writes a terminal document for (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime

from include.task_health.reconciler import DIED, missing_terminal_events


def row(ti_id: str, state: str, task_id: str = "t") -> dict:
    return {
        "id": ti_id, "dag_id": "d", "run_id": "r", "task_id": task_id, "map_index": -1, "try_number": 1,
        "max_tries": 0, "state": state, "start_date": datetime(2026, 3, 1, 10, tzinfo=UTC),
        "end_date": datetime(2026, 3, 1, 10, 0, 7, tzinfo=UTC), "hostname": "w1", "operator": "PythonOperator",
    }  # fmt: skip


def test_only_ended_tries_with_a_start_and_no_end_get_a_document() -> None:
    tries = [row("killed", "failed"), row("done", "failed"), row("uncovered", "failed"), row("ok", "success"),
             row("retry", "up_for_retry")]  # fmt: skip
    documented = {("killed", "started"), ("done", "started"), ("done", "failed"), ("ok", "started"),
                  ("retry", "started")}  # fmt: skip
    events = missing_terminal_events(tries, documented, "app")
    assert [(e.where.ti_id, e.status) for e in events] == [("killed", "failed"), ("retry", "up_for_retry")]
    killed = events[0]
    assert (killed.error_type, killed.response_time, killed.details) == (DIED, 7.0, {"reconciled": True})
    assert killed.at == datetime(2026, 3, 1, 10, 0, 7, tzinfo=UTC)
    assert missing_terminal_events(tries, documented | {("killed", "failed"), ("retry", "up_for_retry")}, "app") == []


def test_a_try_without_dates_still_gets_a_document() -> None:
    undated = {**row("killed", "failed"), "start_date": None, "end_date": None}
    [event] = missing_terminal_events([undated], {("killed", "started")}, "app")
    assert event.at.tzinfo is not None and event.response_time is None
