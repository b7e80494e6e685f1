"""The demo data generator: deterministic, on the input contract, with honest labels."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.demo_data import (
    ANOMALY_KINDS,
    SCENARIOS,
    DemoConfig,
    day_frames,
    day_shape,
    inject,
    main,
    region_day,
    region_names,
    write_days,
)

CONFIG = DemoConfig()
DAY = date(2026, 2, 10)


def test_a_day_is_the_same_whether_generated_alone_or_in_a_range(tmp_path) -> None:
    alone, _ = day_frames(CONFIG, region_names(3), DAY)
    write_days(tmp_path, DAY - timedelta(days=5), DAY + timedelta(days=2), region_names(3), CONFIG)
    in_range = pd.read_csv(layout.landing_file(tmp_path, DAY))
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), in_range, check_dtype=False)


def test_output_follows_the_input_contract(tmp_path) -> None:
    write_days(tmp_path, DAY, DAY + timedelta(days=1), region_names(2), CONFIG, fmt="parquet")
    # A file object: given the path, pyarrow would add a `date` column from `date=…/` (hive).
    with open(layout.landing_file(tmp_path, DAY, "parquet"), "rb") as handle:
        frame = pd.read_parquet(handle)
    assert list(frame.columns) == ["timestamp", "region", "value"]
    assert len(frame) == 48 and frame.groupby("region").size().tolist() == [24, 24]
    stamps = pd.to_datetime(frame["timestamp"], utc=True)
    assert stamps.dt.date.eq(DAY).all() and sorted(stamps.dt.hour.unique()) == list(range(24))
    assert frame["timestamp"].str.endswith("Z").all()
    assert (frame["value"] >= 0).all() and frame["value"].notna().all()
    labels = pd.read_csv(layout.labels_file(tmp_path, DAY))
    assert list(labels.columns) == ["region", "date", "is_anomaly", "kind", "holiday"]


def test_every_day_of_the_week_has_its_own_shape_and_level() -> None:
    monday = date(2026, 2, 9)
    shapes = [day_shape(k, monday + timedelta(days=k)) for k in range(7)]
    assert 7 <= int(np.argmax(shapes[2][:12])) <= 9 and 17 <= int(np.argmax(shapes[2][12:])) + 12 <= 20
    for a, b in ((5, 6), (6, 0), (0, 2), (4, 2)):
        assert np.abs(shapes[a] - shapes[b]).max() > 0.05, (a, b)
    levels = SCENARIOS["demo"].weekday_levels
    assert levels[6] < levels[5] < levels[0]


def test_holidays_behave_like_sundays() -> None:
    config = DemoConfig(anomaly_rate=0.0)
    christmas, sunday = date(2026, 12, 25), date(2026, 12, 27)
    _, labels = day_frames(config, ["region-000"], christmas)
    assert labels.holiday.tolist() == [True]
    ratio = region_day(config, "region-000", christmas)[0].mean() / region_day(config, "region-000", sunday)[0].mean()
    assert 0.9 < ratio < 1.1


def test_the_seasonal_trend_moves_the_level_by_five_percent_in_a_month() -> None:
    config = DemoConfig(scenario="seasonal_drift", anomaly_rate=0.0)
    weeks = [date(2026, 3, 2) + timedelta(days=7 * w) for w in (0, 4)]  # both Mondays
    means = [np.mean([region_day(config, r, d)[0].mean() for r in region_names(8)]) for d in weeks]
    assert abs(means[1] / means[0] - 1) >= 0.05, means


def test_regions_span_two_orders_of_magnitude_and_some_are_noisier() -> None:
    from include.anomaly.demo_data import region_traits

    traits = [region_traits(CONFIG, r) for r in region_names(24)]
    assert max(t.scale for t in traits) / min(t.scale for t in traits) > 100
    assert len({t.noise for t in traits}) == 2


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_kind_of_anomaly_appears_at_two_to_five_percent(scenario) -> None:
    config = DemoConfig(scenario=scenario)
    kinds = [region_day(config, region, DAY + timedelta(days=d))[1] for region in region_names(16) for d in range(120)]
    labelled = [k for k in kinds if k]
    assert 0.02 <= len(labelled) / len(kinds) <= 0.05
    assert set(labelled) == set(ANOMALY_KINDS)


@pytest.mark.parametrize("kind", ANOMALY_KINDS)
def test_each_kind_really_changes_the_day(kind) -> None:
    normal = day_shape(2, DAY) * 1000
    changed = inject(normal, kind, np.random.default_rng(1))
    assert np.abs(changed - normal).max() > 0.2 * normal.mean()


def test_the_cli_writes_the_range(tmp_path, capsys) -> None:
    assert main(["--root", str(tmp_path), "--start", "2026-01-01", "--end", "2026-01-04", "--regions", "2"]) == 0
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(4)]
    assert [layout.landing_file(tmp_path, day).exists() for day in days] == [True, True, True, False]
    assert "wrote 3 day(s) x 2 region(s)" in capsys.readouterr().out
