"""The steps of the daily pipeline as plain functions of plain values; the DAG only wires them.

Which day a run processes is decided here, the same way for every kind of run: the `date`
param when given; else the run's data interval (scheduled and backfill runs: the UTC day the
interval starts); else, for a manual run without a logical date, yesterday (UTC) relative to
when the run was asked for. Data lives under `DATA_ROOT` (an `ObjectStoragePath` URI; default
`file://<STATE_DIR>/data`).
"""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def data_root() -> Any:
    from airflow.sdk import ObjectStoragePath

    default = (Path(os.environ.get("STATE_DIR", PROJECT_ROOT / ".state")) / "data").resolve().as_uri()
    return ObjectStoragePath(os.environ.get("DATA_ROOT", default))


def resolve_day(param_date: str | None, data_interval_start: datetime | None, run_after: datetime) -> date:
    if param_date:
        return date.fromisoformat(param_date)
    if data_interval_start is not None:
        return data_interval_start.date()
    return (run_after - timedelta(days=1)).date()


def extract(day: date, regions: list[str] | None, root: Any) -> dict[str, Any]:
    """Validate the day's partition; returns the validation report and the regions to score."""
    from include.anomaly.history import partition_path
    from include.anomaly.partition import read_partition, region_days

    rows, report = read_partition(partition_path(root, day), day)
    found = region_days(rows, expected_regions=regions or None)
    if not found.regions:
        problems = "; ".join(f"{r}: {why}" for r, why in sorted(found.unscorable.items())) or "no rows"
        raise ValueError(f"{partition_path(root, day)}: no region-day of {day} can be scored ({problems})")
    return {**report.as_dict(), "regions": found.regions, "unscorable": found.unscorable}


def choose_model(day: date, retrain: bool, root: Any) -> dict[str, Any]:
    from include.anomaly.history import load_history
    from include.anomaly.registry import select_or_train

    _, choice = select_or_train(day, lambda start, end: load_history(root, start, end), retrain=retrain)
    return {
        "name": choice.name,
        "version": choice.version,
        "train_start": choice.train_start.isoformat(),
        "train_end": choice.train_end.isoformat(),
        "trained_now": choice.trained_now,
        "champion": choice.champion,
    }


def shards(regions: list[str], shard_size: int) -> list[list[str]]:
    if shard_size < 1:
        raise ValueError(f"shard size must be at least 1, got {shard_size}")
    return [regions[i : i + shard_size] for i in range(0, len(regions), shard_size)]


def detect(day: date, regions: list[str], model: dict[str, Any], quantile: float, root: Any, run_id: str) -> dict:
    """Score `regions` of `day` with the chosen registry version; rows plus what could not be scored."""
    from mlflow import MlflowClient

    from include.anomaly import mlflow_store, registry
    from include.anomaly.detector import score_day
    from include.anomaly.history import partition_path
    from include.anomaly.partition import read_partition, region_days

    mlflow_store.configure()
    version = MlflowClient().get_model_version(model["name"], model["version"])
    detector = registry.load(model["name"], version)
    rows, _ = read_partition(partition_path(root, day), day)
    found = region_days(rows, expected_regions=regions)
    frame, unknown = score_day(detector, found.regions, day, found.values, quantile)
    frame = frame.assign(model_name=model["name"], model_version=str(model["version"]), run_id=run_id)
    unscorable = {**found.unscorable, **dict.fromkeys(unknown, "region not in the model's training data")}
    return {"rows": frame.to_dict("records"), "unscorable": unscorable}


def persist(day: date, shard_outputs: list[dict], root: Any) -> dict[str, Any]:
    import pandas as pd

    from include.anomaly.persist import COLUMNS, index_actions, write_partition
    from include.task_health.emitter import anomalies_shipper_for
    from include.task_health.settings import TaskHealthSettings

    settings = TaskHealthSettings.from_env()
    rows = pd.DataFrame([r for out in shard_outputs for r in out["rows"]], columns=list(COLUMNS))
    path = write_partition(root, day, rows)
    actions = index_actions(rows, int(time.time() * 1000), index=settings.anomalies_index)
    shipped = anomalies_shipper_for(settings).ship(actions)
    return {
        "path": str(path),
        "rows": len(rows),
        "anomalies": int(rows["is_anomaly"].sum()),
        "indexed": shipped.delivered,
        "spooled": shipped.spooled,
    }
