"""The data layout: every writer puts its files where `layout` says, and the tree on disk is the
one the data contract and the existing deployments have (any change here moves real data)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, write_days
from include.anomaly.partition import RegionDays
from include.anomaly.persist import write_partition
from include.anomaly.staging import write_recent_days, write_region_days

DAY = date(2026, 3, 4)
RUN = "scheduled__2026-03-04T00:00:00+00:00"
RUN_KEY = "405ca8257550b5e2c902aa30"  # sha256(RUN)[:24]


def files_under(root) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_day_run_end_to_end_leaves_exactly_this_tree(tmp_path) -> None:
    write_days(tmp_path, DAY, DAY + timedelta(days=1), ["region-000"], DemoConfig())
    staged = layout.staged(tmp_path, DAY, RUN)
    write_region_days(staged.region_days, RegionDays(["region-000"], np.ones((1, 24)), {}, {}))
    write_recent_days(staged.recent_days, {("region-000", DAY - timedelta(days=1)): np.ones(24)})
    rows = pd.DataFrame(
        {"region": ["region-000"], "date": DAY.isoformat(), "score": [0.1], "is_anomaly": [False]}
    ).assign(model_name="m", model_version="1", run_id=RUN)
    write_partition(tmp_path, DAY, rows)
    assert files_under(tmp_path) == [
        "anomalies/.date=2026-03-04.lock",
        "anomalies/date=2026-03-04/anomalies.parquet",
        "labels/date=2026-03-04/labels.csv",
        "landing/hourly/date=2026-03-04/load.csv",
        f"staging/region_days/date=2026-03-04/run-{RUN_KEY}.parquet",
        f"staging/region_days/date=2026-03-04/run-{RUN_KEY}.recent.parquet",
    ]
    for path in (
        layout.anomalies_lock(tmp_path, DAY),
        layout.anomalies_file(tmp_path, DAY),
        layout.labels_file(tmp_path, DAY),
        layout.landing_file(tmp_path, DAY),
        staged.region_days,
        staged.recent_days,
    ):
        assert path.is_file(), path
    assert layout.anomalies_file(tmp_path, DAY).parent == layout.anomalies_partition(tmp_path, DAY)
    assert layout.landing_file(tmp_path, DAY).parent == layout.landing_partition(tmp_path, DAY)


def test_the_parquet_landing_file(tmp_path) -> None:
    write_days(tmp_path, DAY, DAY + timedelta(days=1), ["region-000"], DemoConfig(), fmt="parquet")
    assert layout.landing_file(tmp_path, DAY, "parquet") == tmp_path / "landing/hourly/date=2026-03-04/load.parquet"
    assert layout.landing_file(tmp_path, DAY, "parquet").is_file()


def test_a_run_id_of_any_characters_gives_its_own_plain_name(tmp_path) -> None:
    runs = [RUN, "manual__2026-03-05T07:00:00+00:00", "manual__2026-03-05T07_00_00_00_00", "a/../b"]
    names = [layout.staged(tmp_path, DAY, run).region_days.name for run in runs]
    assert names[0] == f"run-{RUN_KEY}.parquet"
    assert len(set(names)) == len(runs) and all(name[4:28].isalnum() for name in names)
    assert layout.staged(tmp_path, DAY, runs[3]).region_days.parent == tmp_path / "staging/region_days/date=2026-03-04"


def test_an_object_storage_root_gets_the_same_tree(tmp_path) -> None:
    from airflow.sdk import ObjectStoragePath

    root = ObjectStoragePath(tmp_path.as_uri())
    assert str(layout.anomalies_file(root, DAY)) == f"{tmp_path.as_uri()}/anomalies/date=2026-03-04/anomalies.parquet"
    staged = layout.staged(root, DAY, RUN)
    assert str(staged.recent_days) == (
        f"{tmp_path.as_uri()}/staging/region_days/date=2026-03-04/run-{RUN_KEY}.recent.parquet"
    )


@pytest.mark.parametrize("kind", ["ObjectStoragePath", "pathlib.Path"])
def test_the_staged_reference_is_two_strings_that_find_the_same_files(tmp_path, kind) -> None:
    from airflow.sdk import ObjectStoragePath

    root = ObjectStoragePath(tmp_path.as_uri()) if kind == "ObjectStoragePath" else tmp_path
    prefix = tmp_path.as_uri() if kind == "ObjectStoragePath" else str(tmp_path)
    staged = layout.staged(root, DAY, RUN)
    write_region_days(staged.region_days, RegionDays(["region-000"], np.ones((1, 24)), {}, {}))
    reference = staged.reference()
    assert reference == {
        "region_days": f"{prefix}/staging/region_days/date=2026-03-04/run-{RUN_KEY}.parquet",
        "recent_days": f"{prefix}/staging/region_days/date=2026-03-04/run-{RUN_KEY}.recent.parquet",
    }
    found = layout.Staged.from_reference(reference)
    assert found.region_days.exists() and not found.recent_days.exists()
    assert found.region_days.read_bytes() == staged.region_days.read_bytes()
