"""Which tries the reconciler writes a terminal document for, what it says about how they ended,
and how far back its sweep looks (pure logic)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from include.task_health import reconciler
from include.task_health.reconciler import SWEEP_OVERLAP, Sweep, Sweeper, missing_terminal_events

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


def row(ti_id: str, state: str, task_id: str = "t", ending_log_event: str | None = None) -> dict:
    return {
        "id": ti_id, "dag_id": "d", "run_id": "r", "task_id": task_id, "map_index": -1, "try_number": 1,
        "max_tries": 0, "state": state, "start_date": T0, "end_date": T0 + timedelta(seconds=7), "hostname": "w1",
        "operator": "PythonOperator", "ending_log_event": ending_log_event,
    }  # fmt: skip


def test_only_ended_tries_with_a_start_and_no_end_get_a_document() -> None:
    tries = [row("killed", "failed"), row("done", "failed"), row("uncovered", "failed"), row("ok", "success"),
             row("retry", "up_for_retry"), row("upstream", "upstream_failed")]  # fmt: skip
    documented = {("killed", "started"), ("done", "started"), ("done", "failed"), ("ok", "started"),
                  ("retry", "started"), ("upstream", "started")}  # fmt: skip
    events = missing_terminal_events(tries, documented, "app")
    assert [(e.where.ti_id, e.status) for e in events] == [
        ("killed", "failed"),
        ("retry", "up_for_retry"),
        ("upstream", "failed"),
    ]
    killed = events[0]
    assert (killed.error_type, killed.response_time) == ("TaskKilled", 7.0)
    assert killed.details == {"reconciled": True, "task_state": "failed", "airflow_log_event": None}
    assert killed.at == T0 + timedelta(seconds=7)
    assert events[2].details["task_state"] == "upstream_failed"
    written = {(e.where.ti_id, e.status) for e in events}
    assert missing_terminal_events(tries, documented | written, "app") == []


@pytest.mark.parametrize(
    ("logged", "error_type"),
    [("heartbeat timeout", "HeartbeatTimeout"), ("state mismatch", "TaskKilled"), (None, "TaskKilled")],
)
def test_the_error_type_says_what_airflow_recorded_about_the_end(logged: str | None, error_type: str) -> None:
    [event] = missing_terminal_events([row("x", "failed", ending_log_event=logged)], {("x", "started")}, "app")
    assert event.error_type == error_type and event.error_message


def test_a_try_without_dates_still_gets_a_document() -> None:
    undated = {**row("killed", "failed"), "start_date": None, "end_date": None}
    [event] = missing_terminal_events([undated], {("killed", "started")}, "app")
    assert event.at.tzinfo is not None and event.response_time is None


def test_the_sweep_moves_on_only_after_a_pass_that_succeeded(monkeypatch) -> None:
    clock = [T0]
    asked: list[datetime] = []
    outcome: list[object] = [0]

    def tries_ended_since(since: datetime, states: tuple[str, ...], limit: int) -> list[dict]:
        asked.append(since)
        return [row("x", "failed")]

    def reconcile(tries: list[dict]) -> int:
        if isinstance(outcome[0], Exception):
            raise outcome[0]
        return len(tries)

    monkeypatch.setattr("include.airflow_compat.tries_ended_since", tries_ended_since)
    monkeypatch.setattr(reconciler, "reconcile", reconcile)
    sweep = Sweep(now=lambda: clock[0])
    assert sweep.once() == 1 and asked[-1] == T0 - reconciler.SWEEP_FIRST_LOOKBACK - SWEEP_OVERLAP
    clock[0] = T0 + timedelta(seconds=15)
    outcome[0] = ConnectionError("elasticsearch down")
    with pytest.raises(ConnectionError):
        sweep.once()
    assert asked[-1] == T0 - SWEEP_OVERLAP
    clock[0] = T0 + timedelta(seconds=30)
    outcome[0] = 0
    sweep.once()
    assert asked[-1] == T0 - SWEEP_OVERLAP, "the failed pass's window is looked at again"
    sweep.once()
    assert asked[-1] == T0 + timedelta(seconds=30) - SWEEP_OVERLAP


def test_a_full_sweep_continues_from_the_last_try_it_saw(monkeypatch) -> None:
    monkeypatch.setattr(reconciler, "SWEEP_LIMIT", 2)
    later = {**row("y", "failed"), "end_date": T0 + timedelta(minutes=3)}
    monkeypatch.setattr("include.airflow_compat.tries_ended_since", lambda *_: [row("x", "failed"), later])
    monkeypatch.setattr(reconciler, "reconcile", len)
    sweep = Sweep(now=lambda: T0 + timedelta(hours=2))
    sweep.once()
    assert sweep.since == T0 + timedelta(minutes=3)


def test_each_pass_logs_what_it_read_and_wrote_and_its_cost(monkeypatch, caplog) -> None:
    monkeypatch.setattr("include.airflow_compat.tries_ended_since", lambda *_: [row("x", "failed"), row("y", "failed")])
    monkeypatch.setattr("include.airflow_compat.run_tries", lambda dag_id, run_id: [row("z", "failed")])
    monkeypatch.setattr(reconciler, "reconcile", lambda tries: len(tries) - 1)
    monkeypatch.setattr(reconciler, "TOTALS", reconciler.PassTotals())
    caplog.set_level("DEBUG", logger=reconciler.__name__)
    reconciler.log_totals()
    assert "totals" not in caplog.text, "no line where no pass ran (the triggerer, the DAG processor)"
    Sweep().once()
    assert reconciler.reconcile_run("d", "r") == 0
    passes = re.findall(r"pass \((sweep|run end)\): (\d+) tries read, (\d+) documents written in [\d.]+ ms "
                        r"\([\d.]+ ms CPU\)", caplog.text)  # fmt: skip
    assert passes == [("sweep", "2", "1"), ("run end", "1", "0")]
    reconciler.log_totals()
    assert re.search(r"totals: 2 passes, 3 tries read, 1 documents written, [\d.]+ ms wall \(longest pass [\d.]+ "
                     r"ms\), [\d.]+ ms CPU", caplog.text)  # fmt: skip


def test_the_sweeper_stops_where_the_job_is_not_the_schedulers() -> None:
    sweeper = Sweeper(0.01, runs_here=lambda: False)
    sweeper.start()
    sweeper.thread.join(timeout=5)
    assert not sweeper.thread.is_alive()


def test_an_earlier_try_archived_as_failed_was_up_for_retry_if_it_had_tries_left() -> None:
    retried = {**row("first", "failed"), "earlier_try": True, "max_tries": 1}
    cleared = {**row("cleared", "failed"), "earlier_try": True, "max_tries": 0}
    events = missing_terminal_events([retried, cleared], {("first", "started"), ("cleared", "started")}, "app")
    assert [(e.where.ti_id, e.status) for e in events] == [("first", "up_for_retry"), ("cleared", "failed")]
