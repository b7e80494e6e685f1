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
    read_region_days,
    remove_region_days,
    write_region_days,
)

DAY = date(2026, 3, 4)
RUN = "manual__2026-03-05T07:00:00+00:00"


@pytest.fixture
def staged(tmp_path):
    values = np.arange(72, dtype=float).reshape(3, 24)
    found = RegionDays(["a", "b", "c"], values, {"b": 2}, {"d": "5 of 24 hours missing or invalid"})
    write_region_days(tmp_path, DAY, RUN, found)
    return tmp_path, values


def test_a_shard_reads_its_regions_with_values_and_reasons(staged) -> None:
    root, values = staged
    shard = read_region_days(root, DAY, RUN, ["c", "d", "e", "a"])
    assert shard.regions == ["c", "a"]
    np.testing.assert_array_equal(shard.values, values[[2, 0]])
    assert shard.unscorable == {"d": "5 of 24 hours missing or invalid", "e": NO_READINGS}
    assert read_region_days(root, DAY, RUN, ["b"]).imputed_hours == {"b": 2}


def test_a_shard_of_unscorable_regions_only(staged) -> None:
    root, _ = staged
    shard = read_region_days(root, DAY, RUN, ["d"])
    assert shard.regions == [] and shard.values.shape == (0, 24) and list(shard.unscorable) == ["d"]


def test_each_run_has_its_own_file_and_persist_removes_it(staged) -> None:
    root, _ = staged
    path = layout.staged(root, DAY, RUN).region_days
    assert path.exists() and path.name.startswith("run-")
    other = layout.staged(root, DAY, "manual__2026-03-05T07_00_00_00_00").region_days
    assert other != path, "no collision after cleaning"
    with pytest.raises(StagedDataMissing, match="clear this run from `extract`"):
        read_region_days(root, DAY, "another_run", ["a"])
    remove_region_days(root, DAY, RUN)
    assert not path.exists() and path.parent.exists(), "the day's directory stays for concurrent runs"


def test_a_later_extract_removes_stale_files_of_failed_runs(staged) -> None:
    root, values = staged
    stale, fresh = layout.staged(root, DAY, RUN).region_days, layout.staged(root, DAY, "still_running").region_days
    write_region_days(root, DAY, "still_running", RegionDays(["a"], values[:1], {}, {}))
    old = time.time() - STALE_AFTER_S - 60
    os.utime(stale, (old, old))
    write_region_days(root, DAY, "next_run", RegionDays(["a"], values[:1], {}, {}))
    assert not stale.exists() and fresh.exists() and layout.staged(root, DAY, "next_run").region_days.exists()
