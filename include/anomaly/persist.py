"""Persist one day's detection output (contract: DESIGN.md §4).

- Parquet: `<DATA_ROOT>/anomalies/date=YYYY-MM-DD/anomalies.parquet`, the partition replaced
  whole on every run (a re-run never appends): the new file is written under a temporary name
  first, then the partition's other files are removed and the new one takes the final name.
- Elasticsearch: the same rows in the `anomalies` index with `_id = region|date`, written with
  an external version (the time the rows were computed), so a late replay of an older run's
  rows never overwrites a newer run's; delivery goes through the task-health shipper (spool and
  replay when the cluster is down: persisting never fails because Elasticsearch is away).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

COLUMNS = ("region", "date", "score", "is_anomaly", "model_name", "model_version", "run_id")
FILE_NAME = "anomalies.parquet"


def anomaly_partition(data_root: Any, day: date) -> Any:
    return data_root / "anomalies" / f"date={day.isoformat()}"


def write_partition(data_root: Any, day: date, rows: pd.DataFrame) -> Any:
    """Replace the day's partition with `rows`; returns the written file's path."""
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"detection rows lack column(s) {missing}")
    if not (rows["date"] == day.isoformat()).all():
        raise ValueError(f"detection rows for {day} contain other dates")
    partition = anomaly_partition(data_root, day)
    partition.mkdir(parents=True, exist_ok=True)
    staged = partition / f".{FILE_NAME}.tmp"
    with staged.open("wb") as handle:
        rows.loc[:, list(COLUMNS)].sort_values("region").to_parquet(handle, index=False)
    for old in partition.iterdir():
        if old.name != staged.name and old.is_file():
            old.unlink()
    final = partition / FILE_NAME
    staged.rename(final)
    return final


def index_actions(rows: pd.DataFrame, computed_at_ms: int, index: str = "anomalies") -> list[dict[str, Any]]:
    """Bulk actions for the `anomalies` index: one per row, `_id = region|date`."""
    actions = []
    for row in rows.loc[:, list(COLUMNS)].to_dict("records"):
        source = {**row, "score": float(row["score"]), "is_anomaly": bool(row["is_anomaly"])}
        source["@timestamp"] = row["date"]
        actions.append(
            {"_index": index, "_id": f"{row['region']}|{row['date']}", "_version": computed_at_ms, "_source": source}
        )
    return actions
