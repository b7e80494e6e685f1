"""The pipeline under a real scheduler: a manual run triggered through the REST API the way
the UI does it (no logical date, params), and a 3-day backfill; each processes the right day."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, region_names, write_days
from tests.e2e.live import E2E_PREFIX

REGIONS = region_names(4)
FIRST = date(2026, 3, 2)


@pytest.fixture(scope="module")
def pipeline_ready(live_airflow) -> Path:
    root = Path(urlparse(os.environ["DATA_ROOT"]).path)
    write_days(root, FIRST - timedelta(days=35), FIRST + timedelta(days=5), REGIONS, DemoConfig())
    live_airflow.api("POST", "/pools", json={"name": "model_registry", "slots": 1, "include_deferred": False})
    return root


def partition_rows(root: Path, day: date) -> pd.DataFrame:
    with open(layout.anomalies_file(root, day), "rb") as handle:
        return pd.read_parquet(handle)


def health_docs(es, run_id: str) -> list[dict]:
    time.sleep(2)
    es.indices.refresh(index=f"{E2E_PREFIX}-*")
    hits = es.search(index=f"{E2E_PREFIX}-*", size=500, query={"term": {"airflow.run_id": run_id}})
    return [h["_source"] for h in hits["hits"]["hits"]]


def test_a_rest_triggered_manual_run_processes_the_requested_day(pipeline_ready, live_airflow, live_es) -> None:
    day = FIRST + timedelta(days=1)
    run_id = live_airflow.trigger("hourly_anomaly_detection", conf={"date": day.isoformat(), "shard_size": 2})
    assert live_airflow.wait_for_run("hourly_anomaly_detection", run_id, timeout=300) == "success"
    rows = partition_rows(pipeline_ready, day)
    assert sorted(rows.region) == REGIONS and set(rows.run_id) == {run_id}
    docs = health_docs(live_es, run_id)
    assert {d["airflow"]["run_type"] for d in docs} == {"manual"}
    assert {d["airflow"]["logical_date"] for d in docs} == {None}, "a REST run with logical_date null has none"
    assert {d["airflow"]["task_id"] for d in docs if d["event"] == "task_execution"} >= {"extract", "detect", "persist"}


def backfill(live_airflow, first: date, last: date, reprocess: str) -> None:
    """Create a backfill; a previous one is only marked complete by a scheduler sweep (~30 s)
    (409 until then), and on SQLite a busy database answers 503."""
    body = {
        "dag_id": "hourly_anomaly_detection",
        "from_date": f"{first.isoformat()}T00:00:00Z",
        "to_date": f"{last.isoformat()}T00:00:00Z",
        "reprocess_behavior": reprocess,
        "max_active_runs": 3,
    }
    deadline = time.monotonic() + 120
    while True:
        response = live_airflow.request("POST", "/backfills", json=body)
        if response.ok:
            return
        assert response.status_code in {409, 503} and time.monotonic() < deadline, response.text[:4000]
        time.sleep(5)


def backfill_runs(live_airflow, days: list[date], timeout: float = 400) -> dict[date, dict]:
    """The backfill runs of `days` once every one has finished, keyed by processed day."""
    deadline = time.monotonic() + timeout
    while True:
        runs = live_airflow.api("GET", "/dags/hourly_anomaly_detection/dagRuns?run_type=backfill&limit=100")["dag_runs"]
        by_day = {date.fromisoformat(r["logical_date"][:10]): r for r in runs}
        wanted = [by_day.get(d) for d in days]
        if all(r and r["state"] in {"success", "failed"} for r in wanted):
            return dict(zip(days, wanted, strict=True))
        assert time.monotonic() < deadline, f"backfill runs not finished: {wanted}"
        time.sleep(2)


def test_a_backfill_processes_each_date_and_a_rerun_changes_nothing(pipeline_ready, live_airflow, live_es) -> None:
    from mlflow import MlflowClient

    days = [FIRST + timedelta(days=i) for i in range(2, 5)]
    backfill(live_airflow, days[0], days[-1], reprocess="none")
    runs = backfill_runs(live_airflow, days)
    assert {d: r["state"] for d, r in runs.items()} == dict.fromkeys(days, "success")
    first_outputs = {d: partition_rows(pipeline_ready, d) for d in days}
    client = MlflowClient()
    for day, run in runs.items():
        rows = first_outputs[day]
        assert set(rows.date) == {day.isoformat()} and set(rows.run_id) == {run["dag_run_id"]}
        version = client.get_model_version(
            os.environ.get("ANOMALY_MODEL_NAME", "hourly_load_iforest"), rows.model_version[0]
        )
        assert version.tags["train_end"] <= day.isoformat(), "trained only on days before the date it scored"
        docs = health_docs(live_es, run["dag_run_id"])
        assert {d["airflow"]["run_type"] for d in docs} == {"backfill"}
        assert {d["airflow"]["logical_date"][:10] for d in docs} == {day.isoformat()}

    index = os.environ["ANOMALIES_INDEX"]
    live_es.indices.refresh(index=index)
    count_before = live_es.count(index=index)["count"]
    backfill(live_airflow, days[0], days[-1], reprocess="completed")
    time.sleep(5)
    rerun = backfill_runs(live_airflow, days)
    assert {r["state"] for r in rerun.values()} == {"success"}
    for day in days:
        again = partition_rows(pipeline_ready, day)
        pd.testing.assert_frame_equal(again.drop(columns="run_id"), first_outputs[day].drop(columns="run_id"))
    live_es.indices.refresh(index=index)
    assert live_es.count(index=index)["count"] == count_before
