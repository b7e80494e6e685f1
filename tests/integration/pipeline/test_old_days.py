"""A day long before today (and before the DAG once had as start_date, 2026-01-01) is
processed like any other: `dag.test(logical_date=…)` of a 2025 day, as `make demo` and a
backfill run it, runs every task and writes the day's partition (DESIGN.md §6: a run dated
before start_date "succeeds" without running any task)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, region_names, write_days
from scripts.demo_pipeline import EXPECTED_TASKS, run_problems, task_label
from tests.support import state_of

DAY = date(2025, 6, 28)  # far from the other tests' days (2026)
REGIONS = region_names(3)


@pytest.fixture(scope="module")
def old_day_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("old-day-data")
    write_days(root, DAY - timedelta(days=35), DAY + timedelta(days=1), REGIONS, DemoConfig())
    return root


def test_a_2025_day_runs_every_task_and_writes_its_partition(pipeline_dag, old_day_root, es_url, monkeypatch):
    assert pipeline_dag.start_date.date() <= DAY
    monkeypatch.setenv("DATA_ROOT", old_day_root.as_uri())
    monkeypatch.setenv("ANOMALY_MODEL_NAME", "old-day-model")
    run = pipeline_dag.test(
        logical_date=datetime.combine(DAY, time.min, tzinfo=UTC), run_conf={"date": DAY.isoformat(), "shard_size": 2}
    )
    tis = run.get_task_instances()
    states = {task_label(ti): state_of(ti) for ti in tis}
    assert {ti.task_id for ti in tis} == set(EXPECTED_TASKS), states
    assert set(states.values()) == {"success"}, states
    assert state_of(run) == "success"
    persisted = run.get_task_instance("persist").xcom_pull(task_ids="persist")
    assert run_problems(DAY, states, persisted) == []

    with open(layout.anomalies_file(old_day_root, DAY), "rb") as handle:
        rows = pd.read_parquet(handle)
    assert sorted(rows.region) == REGIONS and set(rows.date) == {DAY.isoformat()}
    assert set(rows.run_id) == {run.run_id} and persisted["rows"] == len(REGIONS)
