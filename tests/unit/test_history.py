"""Training history read from the landing zone, gaps and bad days skipped."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, region_day, region_names, write_days
from include.anomaly.history import load_history

START = date(2026, 1, 5)


def test_reads_every_scorable_region_day_and_skips_gaps(tmp_path, caplog) -> None:
    write_days(tmp_path, START, START + timedelta(days=5), region_names(3), DemoConfig())
    gap = layout.landing_partition(tmp_path, START + timedelta(days=2))
    for path in gap.iterdir():
        path.unlink()
    gap.rmdir()
    layout.landing_file(tmp_path, START + timedelta(days=3)).write_text("")

    history = load_history(tmp_path, START, START + timedelta(days=5))
    assert sorted({d for _, d in history}) == [START, START + timedelta(days=1), START + timedelta(days=4)]
    assert len(history) == 9
    np.testing.assert_allclose(history[("region-001", START)], region_day(DemoConfig(), "region-001", START)[0])
    assert "partition missing" in caplog.text and "file is empty" in caplog.text


def test_the_end_day_is_never_read(tmp_path) -> None:
    write_days(tmp_path, START, START + timedelta(days=3), region_names(1), DemoConfig())
    assert {d for _, d in load_history(tmp_path, START, START + timedelta(days=2))} == {START, START + timedelta(1)}


def test_implausible_readings_are_dropped_from_history_by_the_setting(tmp_path, monkeypatch) -> None:
    write_days(tmp_path, START, START + timedelta(days=1), region_names(2), DemoConfig())
    path = layout.landing_file(tmp_path, START)
    frame = pd.read_csv(path, dtype={"value": object})
    frame.loc[frame.index[frame.region == "region-000"][1:4], "value"] = "1e300"
    frame.to_csv(path, index=False)

    def regions(**kwargs) -> set[str]:
        return {r for r, _ in load_history(tmp_path, START, START + timedelta(days=1), **kwargs)}

    monkeypatch.delenv("ANOMALY_MAX_PLAUSIBLE_VALUE", raising=False)
    assert regions() == {"region-001"}, "3 implausible hours make region-000's day unscorable"
    assert regions(max_plausible_value=1e301) == {"region-000", "region-001"}
    monkeypatch.setenv("ANOMALY_MAX_PLAUSIBLE_VALUE", "1e301")
    assert regions() == {"region-000", "region-001"}
