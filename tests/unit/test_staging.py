"""Staged region-days: what extract validated is exactly what every detect shard reads."""

from __future__ import annotations

import os
import time
from datetime import date

import numpy as np
import pytest

from include.anomaly import layout
from include.anomaly.partition import NO_READINGS, RegionDays
from include.anomaly.staging import (
    STALE_AFTER_S,
    StagedDataMissing,
    read_recent_days,
    read_region_days,
    remove_staged,
    write_recent_days,
    write_region_days,
)

DAY = date(2026, 3, 4)
RUN = "manual__2026-03-05T07:00:00+00:00"


@pytest.fixture
def staged(tmp_path):
    values = np.arange(72, dtype=float).reshape(3, 24)
    found = RegionDays(["a", "b", "c"], values, {"b": 2}, {"d": "5 of 24 hours missing or invalid"})
    files = layout.staged(tmp_path, DAY, RUN)
    write_region_days(files.region_days, found)
    write_recent_days(files.recent_days, {("a", date(2026, 3, 3)): values[1], ("c", date(2026, 3, 2)): values[0]})
    return files, values


def test_a_shard_reads_its_regions_with_values_and_reasons(staged) -> None:
    files, values = staged
    shard = read_region_days(files.region_days, ["c", "d", "e", "a"])
    assert shard.regions == ["c", "a"]
    np.testing.assert_array_equal(shard.values, values[[2, 0]])
    assert shard.unscorable == {"d": "5 of 24 hours missing or invalid", "e": NO_READINGS}
    assert read_region_days(files.region_days, ["b"]).imputed_hours == {"b": 2}


def test_a_shard_reads_its_regions_recent_days(staged) -> None:
    files, values = staged
    recent = read_recent_days(files.recent_days, ["a", "b"])
    assert list(recent) == ["a"] and list(recent["a"]) == [date(2026, 3, 3)]
    np.testing.assert_array_equal(recent["a"][date(2026, 3, 3)], values[1])


def test_a_shard_of_unscorable_regions_only(staged) -> None:
    files, _ = staged
    shard = read_region_days(files.region_days, ["d"])
    assert shard.regions == [] and shard.values.shape == (0, 24) and list(shard.unscorable) == ["d"]


def test_persist_removes_the_runs_files_and_a_later_read_says_what_to_do(staged) -> None:
    files, _ = staged
    remove_staged(files)
    assert not files.region_days.exists() and not files.recent_days.exists()
    assert files.region_days.parent.exists(), "the day's directory stays for concurrent runs"
    with pytest.raises(StagedDataMissing, match="clear this run from `extract`"):
        read_region_days(files.region_days, ["a"])
    with pytest.raises(StagedDataMissing, match="clear the run from `extract`"):
        read_recent_days(files.recent_days, ["a"])
    remove_staged(files)  # a retried persist finds nothing to remove


def test_a_later_extract_removes_stale_files_of_failed_runs(staged, tmp_path) -> None:
    files, values = staged
    fresh, later = layout.staged(tmp_path, DAY, "still_running"), layout.staged(tmp_path, DAY, "next_run")
    write_region_days(fresh.region_days, RegionDays(["a"], values[:1], {}, {}))
    old = time.time() - STALE_AFTER_S - 60
    os.utime(files.region_days, (old, old))
    write_region_days(later.region_days, RegionDays(["a"], values[:1], {}, {}))
    assert not files.region_days.exists() and fresh.region_days.exists() and later.region_days.exists()
