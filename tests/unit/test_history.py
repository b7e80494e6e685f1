"""Training history read from the landing zone, gaps and bad days skipped."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from include.anomaly.demo_data import DemoConfig, region_day, region_names, write_days
from include.anomaly.history import load_history, partition_path

START = date(2026, 1, 5)


def test_reads_every_scorable_region_day_and_skips_gaps(tmp_path, caplog) -> None:
    write_days(tmp_path, START, START + timedelta(days=5), region_names(3), DemoConfig())
    gap = partition_path(tmp_path, START + timedelta(days=2))
    for path in gap.iterdir():
        path.unlink()
    gap.rmdir()
    (partition_path(tmp_path, START + timedelta(days=3)) / "load.csv").write_text("")

    history = load_history(tmp_path, START, START + timedelta(days=5))
    assert sorted({d for _, d in history}) == [START, START + timedelta(days=1), START + timedelta(days=4)]
    assert len(history) == 9
    np.testing.assert_allclose(history[("region-001", START)], region_day(DemoConfig(), "region-001", START)[0])
    assert "partition missing" in caplog.text and "file is empty" in caplog.text


def test_the_end_day_is_never_read(tmp_path) -> None:
    write_days(tmp_path, START, START + timedelta(days=3), region_names(1), DemoConfig())
    assert {d for _, d in load_history(tmp_path, START, START + timedelta(days=2))} == {START, START + timedelta(1)}
