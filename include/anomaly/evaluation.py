"""Score the pipeline's flags against the demo data's labels over a date range, next to a
baseline measured in the same run: a default IsolationForest on each region-day's raw 24
values, trained on the same 28 days before each date."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from include.anomaly.history import load_history, partition_path
from include.anomaly.partition import read_partition, region_days
from include.anomaly.persist import FILE_NAME, anomaly_partition


def quality(truth: list[bool], flagged: list[bool]) -> dict[str, float]:
    tp = sum(t and f for t, f in zip(truth, flagged, strict=True))
    fp = sum(f and not t for t, f in zip(truth, flagged, strict=True))
    fn = sum(t and not f for t, f in zip(truth, flagged, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def _read_csv(path: Any) -> pd.DataFrame:
    with path.open("rb") as handle:
        return pd.read_csv(handle)


def _baseline_flags(root: Any, day: date, regions: list[str], window_days: int) -> dict[str, bool]:
    from sklearn.ensemble import IsolationForest

    history = load_history(root, day - timedelta(days=window_days), day)
    rows, _ = read_partition(partition_path(root, day), day)
    found = region_days(rows, expected_regions=regions)
    forest = IsolationForest(random_state=0).fit(np.vstack(list(history.values())))
    return dict(zip(found.regions, forest.predict(found.values) == -1, strict=True))


def evaluate(root: Any, start: date, end: date, window_days: int = 28) -> dict[str, Any]:
    """Precision, recall and F1 of the pipeline's flags and of the baseline over [start, end)."""
    truth, ours, baseline = [], [], []
    day = start
    while day < end:
        labels = _read_csv(root / "labels" / f"date={day.isoformat()}" / "labels.csv")
        with (anomaly_partition(root, day) / FILE_NAME).open("rb") as handle:
            flagged = pd.read_parquet(handle).set_index("region")["is_anomaly"].to_dict()
        base = _baseline_flags(root, day, list(labels.region), window_days)
        for region, is_anomaly in zip(labels.region, labels.is_anomaly, strict=True):
            truth.append(bool(is_anomaly))
            ours.append(bool(flagged.get(region, False)))
            baseline.append(bool(base.get(region, False)))
        day += timedelta(days=1)
    return {"region_days": len(truth), "model": quality(truth, ours), "baseline": quality(truth, baseline)}
