"""Reading and validating a day's partition: every kind of bad input has a documented outcome
(a clear error naming the file and problem, or rows counted as bad and kept out of scoring)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, day_frames, region_names
from include.anomaly.partition import PartitionError, read_partition, region_days

DAY = date(2026, 2, 10)


def good_day(regions: int = 2) -> pd.DataFrame:
    hourly, _ = day_frames(DemoConfig(anomaly_rate=0.0), region_names(regions), DAY)
    return hourly


@pytest.fixture
def partition(tmp_path) -> Path:
    path = layout.landing_partition(tmp_path, DAY)
    path.mkdir(parents=True)
    return path


def read(partition: Path):
    return read_partition(partition, DAY)


def test_a_clean_day_gives_24_values_per_region(partition) -> None:
    good_day().to_csv(partition / "a.csv", index=False)
    rows, report = read(partition)
    assert report.rows_read == report.rows_valid == 48 and not report.bad_rows
    days = region_days(rows)
    assert days.regions == region_names(2) and days.values.shape == (2, 24) and not days.unscorable


def test_missing_partition(tmp_path) -> None:
    with pytest.raises(PartitionError, match=r"date=2026-02-10: partition missing"):
        read(layout.landing_partition(tmp_path, DAY))


def test_partition_without_data_files(partition) -> None:
    (partition / "_SUCCESS").write_text("")
    with pytest.raises(PartitionError, match=r"no \.csv or \.parquet files"):
        read(partition)


def test_empty_file(partition) -> None:
    good_day().to_csv(partition / "a.csv", index=False)
    (partition / "b.csv").write_text("")
    with pytest.raises(PartitionError, match=r"b\.csv: file is empty"):
        read(partition)


def test_header_only_file(partition) -> None:
    (partition / "a.csv").write_text("timestamp,region,value\n")
    with pytest.raises(PartitionError, match=r"a\.csv: file is empty"):
        read(partition)


def test_missing_column(partition) -> None:
    good_day().drop(columns=["value"]).to_csv(partition / "a.csv", index=False)
    with pytest.raises(PartitionError, match=r"a\.csv: missing column\(s\) value; found timestamp, region"):
        read(partition)


def test_wrong_columns(partition) -> None:
    good_day().rename(columns={"region": "area", "value": "mwh"}).to_csv(partition / "a.csv", index=False)
    with pytest.raises(PartitionError, match=r"missing column\(s\) region, value"):
        read(partition)


def test_extra_columns_are_ignored_with_a_warning(partition, caplog) -> None:
    good_day().assign(unit="MWh").to_csv(partition / "a.csv", index=False)
    rows, report = read(partition)
    assert report.ignored_columns == {"a.csv": ["unit"]} and len(rows) == 48
    assert "ignoring column(s) unit" in caplog.text


def test_unreadable_file(partition) -> None:
    (partition / "a.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(PartitionError, match=r"a\.parquet: cannot be read as parquet"):
        read(partition)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_file_without_permission(partition) -> None:
    good_day().to_csv(partition / "a.csv", index=False)
    (partition / "a.csv").chmod(0)
    with pytest.raises(PartitionError, match=r"a\.csv: cannot be read"):
        read(partition)


def test_non_numeric_nan_and_negative_values_are_bad_rows(partition) -> None:
    frame = good_day().astype({"value": str})
    frame.loc[0, "value"] = "lots"
    frame.loc[1, "value"] = "NaN"
    frame.loc[2, "value"] = "-5"
    frame.loc[3, "value"] = "inf"
    frame.to_csv(partition / "a.csv", index=False)
    rows, report = read(partition)
    assert report.bad_rows == {"non_numeric_value": 1, "nan_value": 1, "negative_value": 1, "non_finite_value": 1}
    days = region_days(rows, max_missing_hours=2)
    assert days.unscorable == {"region-000": "4 of 24 hours missing or invalid (at most 2 are filled in)"}
    assert days.regions == ["region-001"]


def test_a_few_missing_hours_are_filled_and_reported(partition) -> None:
    good_day().drop(index=[5, 6]).to_csv(partition / "a.csv", index=False)
    days = region_days(read(partition)[0], max_missing_hours=2)
    assert days.regions == region_names(2) and days.imputed_hours == {"region-000": 2}
    assert np.isfinite(days.values).all()


def test_missing_hours_beyond_the_limit_make_the_region_day_unscorable(partition) -> None:
    good_day().drop(index=range(0, 10)).to_csv(partition / "a.csv", index=False)
    days = region_days(read(partition)[0], max_missing_hours=2)
    assert "region-000" in days.unscorable and days.regions == ["region-001"]


def test_duplicate_hours(partition) -> None:
    frame = good_day()
    pd.concat([frame, frame.iloc[:3]]).to_csv(partition / "a.csv", index=False)
    rows, report = read(partition)
    assert report.bad_rows == {"duplicate": 3} and len(rows) == 48


def test_csv_and_parquet_disagreeing(partition) -> None:
    frame = good_day()
    frame.to_csv(partition / "a.csv", index=False)
    other = frame.iloc[:24].copy()
    other.loc[other.index[:4], "value"] += 100
    other.to_parquet(partition / "b.parquet", index=False)
    rows, report = read(partition)
    assert report.bad_rows == {"duplicate": 20, "conflicting_duplicate": 8}
    assert report.files == ["a.csv", "b.parquet"]
    assert len(rows[rows.region == "region-000"]) == 20, "the 4 disputed hours are dropped, not guessed"


def test_naive_timestamps_are_bad_rows_not_silently_utc(partition) -> None:
    frame = good_day()
    frame["timestamp"] = frame["timestamp"].str.rstrip("Z")
    frame.to_csv(partition / "a.csv", index=False)
    rows, report = read(partition)
    assert report.bad_rows == {"timestamp_without_offset": 48} and rows.empty
    assert region_days(rows, expected_regions=region_names(2)).unscorable == {
        "region-000": "no valid readings for this day",
        "region-001": "no valid readings for this day",
    }


def test_offsets_are_converted_to_the_utc_day(partition) -> None:
    frame = good_day(1)
    stamps = pd.to_datetime(frame["timestamp"], utc=True).dt.tz_convert("Europe/Berlin")
    frame["timestamp"] = stamps.map(lambda t: t.isoformat())
    frame.to_csv(partition / "a.csv", index=False)
    rows, report = read(partition)
    assert not report.bad_rows and sorted(rows.hour) == list(range(24))


def test_rows_of_another_day_and_off_the_hour(partition) -> None:
    frame = good_day(1)
    frame.loc[0, "timestamp"] = f"{DAY - timedelta(days=1)}T23:00:00Z"
    frame.loc[1, "timestamp"] = f"{DAY}T01:30:00Z"
    frame.loc[2, "timestamp"] = "yesterday-ish"
    frame.loc[3, "region"] = ""
    frame.to_csv(partition / "a.csv", index=False)
    _, report = read(partition)
    assert report.bad_rows == {
        "outside_partition_day": 1,
        "not_on_the_hour": 1,
        "unparsable_timestamp": 1,
        "empty_region": 1,
    }


def test_a_region_with_no_data(partition) -> None:
    good_day(2).to_csv(partition / "a.csv", index=False)
    days = region_days(read(partition)[0], expected_regions=["region-000", "region-001", "region-009"])
    assert days.unscorable == {"region-009": "no valid readings for this day"}
    assert days.regions == ["region-000", "region-001"]


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        ("1e300", "implausible_value"),
        ("1000000000.5", "implausible_value"),  # just above the default bound, 1e9
        ("inf", "non_finite_value"),
        ("-inf", "non_finite_value"),
        ("Infinity", "non_finite_value"),
    ],
)
def test_non_finite_and_implausible_readings_are_bad_rows(partition, reading, reason) -> None:
    frame = good_day().astype({"value": str})
    frame.loc[3, "value"] = reading
    frame.to_csv(partition / "a.csv", index=False)
    rows, report = read(partition)
    assert report.bad_rows == {reason: 1} and report.rows_valid == 47
    clean = good_day()
    assert rows.value.max() <= 1e9 and np.isfinite(rows.value).all()
    kept = rows.merge(clean.assign(hour=pd.to_datetime(clean.timestamp).dt.hour), on=["region", "hour"])
    assert len(kept) == 47 and (kept.value_x == kept.value_y).all(), "valid rows are unaffected"
    days = region_days(rows)
    assert days.regions == region_names(2) and days.imputed_hours == {"region-000": 1}
    assert np.isfinite(days.values).all() and days.values.max() <= 1e9


def test_float_parquet_readings_beyond_the_bound(partition) -> None:
    frame = good_day()
    frame.loc[0, "value"] = 1e300
    frame.loc[1, "value"] = float("inf")
    frame.loc[2, "value"] = float("-inf")
    frame.loc[3, "value"] = 1e9  # the bound itself is plausible
    frame.to_parquet(partition / "a.parquet", index=False)
    rows, report = read(partition)
    assert report.bad_rows == {"implausible_value": 1, "non_finite_value": 2} and len(rows) == 45
    assert 1e9 in set(rows.value)


def test_the_bound_is_a_parameter(partition) -> None:
    frame = good_day()
    bound = float(frame.value.max())
    frame.loc[0, "value"] = bound + 0.5
    frame.to_csv(partition / "a.csv", index=False)
    _, report = read_partition(partition, DAY, max_plausible_value=bound)
    assert report.bad_rows == {"implausible_value": 1} and report.rows_valid == 47
    assert not read(partition)[1].bad_rows, "within the default bound"
