"""The demo data generator: deterministic, on the input contract, with honest labels."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from include.anomaly.demo_data import (
    ANOMALY_KINDS,
    DemoConfig,
    day_frames,
    main,
    normal_profile,
    region_day,
    region_names,
    write_days,
)

CONFIG = DemoConfig()
DAY = date(2026, 2, 10)


def test_a_day_is_the_same_whether_generated_alone_or_in_a_range(tmp_path) -> None:
    alone, _ = day_frames(CONFIG, region_names(3), DAY)
    write_days(tmp_path, DAY - timedelta(days=5), DAY + timedelta(days=2), region_names(3), CONFIG)
    in_range = pd.read_csv(tmp_path / "landing" / "hourly" / f"date={DAY}" / "load.csv")
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), in_range, check_dtype=False)


def test_output_follows_the_input_contract(tmp_path) -> None:
    write_days(tmp_path, DAY, DAY + timedelta(days=1), region_names(2), CONFIG, fmt="parquet")
    # A file object: given the path, pyarrow would add a `date` column from `date=…/` (hive).
    with open(tmp_path / "landing" / "hourly" / f"date={DAY}" / "load.parquet", "rb") as handle:
        frame = pd.read_parquet(handle)
    assert list(frame.columns) == ["timestamp", "region", "value"]
    assert len(frame) == 48 and frame.groupby("region").size().tolist() == [24, 24]
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    assert stamps.dt.date.eq(DAY).all() and sorted(stamps.dt.hour.unique()) == list(range(24))
    assert frame["timestamp"].str.endswith("Z").all()
    assert (frame["value"] >= 0).all() and frame["value"].notna().all()
    labels = pd.read_csv(tmp_path / "labels" / f"date={DAY}" / "labels.csv")
    assert list(labels.columns) == ["region", "date", "is_anomaly", "kind"]


def test_normal_days_have_two_peaks_and_quiet_weekends() -> None:
    weekday, saturday = normal_profile(date(2026, 2, 11)), normal_profile(date(2026, 2, 14))
    assert 7 <= int(np.argmax(weekday[:12])) <= 9 and 18 <= int(np.argmax(weekday[12:])) + 12 <= 20
    assert saturday.mean() < weekday.mean()
    assert normal_profile(date(2026, 1, 15)).mean() > normal_profile(date(2026, 7, 15)).mean(), "winter is higher"


def test_regions_differ_in_scale() -> None:
    means = [region_day(CONFIG, r, DAY)[0].mean() for r in region_names(8)]
    assert max(means) / min(means) > 5


def test_every_kind_of_anomaly_appears_at_about_the_configured_rate() -> None:
    kinds = [region_day(CONFIG, region, DAY + timedelta(days=d))[1] for region in region_names(8) for d in range(120)]
    labelled = [k for k in kinds if k]
    assert 0.04 < len(labelled) / len(kinds) < 0.08
    assert set(labelled) == set(ANOMALY_KINDS)


@pytest.mark.parametrize("kind", ANOMALY_KINDS)
def test_each_kind_really_changes_the_day(kind) -> None:
    from include.anomaly.demo_data import _inject

    normal = normal_profile(DAY) * 1000
    changed = _inject(normal, kind, np.random.default_rng(1), DAY)
    assert np.abs(changed - normal).max() > 0.2 * normal.mean()


def test_the_cli_writes_the_range(tmp_path, capsys) -> None:
    assert main(["--root", str(tmp_path), "--start", "2026-01-01", "--end", "2026-01-04", "--regions", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "landing" / "hourly").iterdir()) == [
        "date=2026-01-01",
        "date=2026-01-02",
        "date=2026-01-03",
    ]
    assert "wrote 3 day(s) x 2 region(s)" in capsys.readouterr().out
