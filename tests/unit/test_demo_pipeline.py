"""`make demo` counts a day as processed only when every task of its run succeeded and
`persist` wrote rows (a run dated before the DAG's start_date "succeeds" with no task run)."""

from __future__ import annotations

from datetime import date

from scripts.demo_pipeline import run_problems

DAY = date(2025, 6, 28)
ALL_GOOD = {
    "resolve_day": "success",
    "extract": "success",
    "choose_model": "success",
    "make_shards": "success",
    "detect[0]": "success",
    "detect[1]": "success",
    "persist": "success",
}


def test_a_run_that_scored_rows_is_fine() -> None:
    assert run_problems(DAY, ALL_GOOD, {"rows": 8, "anomalies": 1}) == []


def test_a_run_without_task_instances_is_a_problem() -> None:
    assert run_problems(DAY, {}, None) == ["2025-06-28: no task ran (is the day before the DAG's start_date?)"]


def test_a_failed_task_and_its_downstream_are_named() -> None:
    states = {**ALL_GOOD, "extract": "failed", "choose_model": "upstream_failed", "persist": "upstream_failed"}
    problems = run_problems(DAY, states, None)
    assert problems == [
        "2025-06-28: task choose_model ended upstream_failed",
        "2025-06-28: task extract ended failed",
        "2025-06-28: task persist ended upstream_failed",
    ]


def test_a_mapped_instance_and_a_task_without_state() -> None:
    problems = run_problems(DAY, {**ALL_GOOD, "detect[1]": "failed", "make_shards": ""}, {"rows": 4})
    assert problems == [
        "2025-06-28: task detect[1] ended failed",
        "2025-06-28: task make_shards ended without a state (never ran)",
    ]


def test_a_missing_task_is_a_problem() -> None:
    states = {k: v for k, v in ALL_GOOD.items() if not k.startswith("detect")}
    assert run_problems(DAY, states, {"rows": 3}) == ["2025-06-28: task detect has no task instance"]


def test_persist_writing_nothing_is_a_problem() -> None:
    assert run_problems(DAY, ALL_GOOD, {"rows": 0}) == ["2025-06-28: task persist wrote 0 rows (nothing was scored)"]
    assert run_problems(DAY, ALL_GOOD, None) == ["2025-06-28: task persist wrote 0 rows (nothing was scored)"]
