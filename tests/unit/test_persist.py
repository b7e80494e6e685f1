"""The detection output partition is replaced whole, and its index actions carry stable ids."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from include.anomaly.persist import FILE_NAME, anomaly_partition, index_actions, write_partition

DAY = date(2026, 2, 10)


def rows(scores=(-0.4, -0.6)) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["region-001", "region-000"],
            "date": DAY.isoformat(),
            "score": list(scores),
            "is_anomaly": [False, True],
            "model_name": "hourly_load_iforest",
            "model_version": "3",
            "run_id": "scheduled__2026-02-10T00:00:00+00:00",
        }
    )


def read(tmp_path) -> pd.DataFrame:
    with open(anomaly_partition(tmp_path, DAY) / FILE_NAME, "rb") as handle:
        return pd.read_parquet(handle)


def test_a_rerun_replaces_the_partition(tmp_path) -> None:
    write_partition(tmp_path, DAY, rows())
    (anomaly_partition(tmp_path, DAY) / "stale-from-elsewhere.parquet").write_bytes(b"old")
    write_partition(tmp_path, DAY, rows(scores=(-0.5, -0.7)))
    assert sorted(p.name for p in anomaly_partition(tmp_path, DAY).iterdir()) == [FILE_NAME]
    written = read(tmp_path)
    assert list(written.region) == ["region-000", "region-001"] and list(written.score) == [-0.7, -0.5]
    assert list(written.columns) == ["region", "date", "score", "is_anomaly", "model_name", "model_version", "run_id"]


def test_rows_of_another_day_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="contain other dates"):
        write_partition(tmp_path, date(2026, 2, 11), rows())


def test_index_actions_use_region_and_date_as_id_and_a_version() -> None:
    actions = index_actions(rows(), computed_at_ms=1_700_000_000_000)
    assert [a["_id"] for a in actions] == ["region-001|2026-02-10", "region-000|2026-02-10"]
    assert {a["_index"] for a in actions} == {"anomalies"} and {a["_version"] for a in actions} == {1_700_000_000_000}
    assert actions[1]["_source"]["is_anomaly"] is True and actions[1]["_source"]["@timestamp"] == "2026-02-10"
