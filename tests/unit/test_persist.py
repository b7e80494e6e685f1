"""The detection output partition: a full run replaces the day, a subset run only its regions' rows,
the file is swapped atomically under a per-day lock, and its index actions carry stable ids."""

from __future__ import annotations

import multiprocessing
import os
from datetime import date

import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.persist import (
    delete_actions,
    index_actions,
    stale_regions,
    write_partition,
)

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
    with open(layout.anomalies_file(tmp_path, DAY), "rb") as handle:
        return pd.read_parquet(handle)


def test_a_rerun_replaces_the_partition(tmp_path) -> None:
    write_partition(tmp_path, DAY, rows())
    (layout.anomalies_partition(tmp_path, DAY) / "stale-from-elsewhere.parquet").write_bytes(b"old")
    write_partition(tmp_path, DAY, rows(scores=(-0.5, -0.7)))
    assert sorted(p.name for p in layout.anomalies_partition(tmp_path, DAY).iterdir()) == [layout.ANOMALIES_FILE]
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


def day_rows(regions: list[str], score: float = -0.5, run_id: str = "run") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": regions,
            "date": DAY.isoformat(),
            "score": [score] * len(regions),
            "is_anomaly": [False] * len(regions),
            "model_name": "m",
            "model_version": "1",
            "run_id": run_id,
        }
    )


def test_a_subset_run_replaces_only_its_regions(tmp_path) -> None:
    write_partition(tmp_path, DAY, day_rows(["r-a", "r-b", "r-c"], run_id="full"))
    written = write_partition(tmp_path, DAY, day_rows(["r-b"], score=-0.9, run_id="subset"), regions=["r-b"])
    stored = read(tmp_path)
    assert list(stored.region) == ["r-a", "r-b", "r-c"]
    assert dict(zip(stored.region, stored.run_id, strict=True)) == {"r-a": "full", "r-b": "subset", "r-c": "full"}
    assert stored.loc[stored.region == "r-b", "score"].item() == -0.9
    assert written.removed == set() and len(written.rows) == 3


def test_a_subset_region_no_longer_scored_is_removed_and_reported(tmp_path) -> None:
    write_partition(tmp_path, DAY, day_rows(["r-a", "r-b", "r-c"]))
    written = write_partition(tmp_path, DAY, day_rows(["r-b"]), regions=["r-b", "r-c"])
    assert list(read(tmp_path).region) == ["r-a", "r-b"] and written.removed == {"r-c"}
    assert stale_regions(written, indexed={"r-a", "r-c", "r-x"}, regions=["r-b", "r-c"]) == {"r-c"}


def test_rows_outside_the_subset_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="outside the run's subset"):
        write_partition(tmp_path, DAY, day_rows(["r-a", "r-b"]), regions=["r-a"])


def test_a_full_run_drops_regions_it_no_longer_scores(tmp_path) -> None:
    write_partition(tmp_path, DAY, day_rows(["r-a", "r-b", "r-c"]))
    written = write_partition(tmp_path, DAY, day_rows(["r-a", "r-c"]))
    assert list(read(tmp_path).region) == ["r-a", "r-c"] and written.removed == {"r-b"}
    # the index may also hold a region the file no longer has (e.g. a spooled write replayed late)
    assert stale_regions(written, indexed={"r-a", "r-x"}, regions=[]) == {"r-b", "r-x"}
    actions = delete_actions(stale_regions(written, {"r-x"}, None), DAY, written.version_ms)
    assert [(a["_id"], a["_op_type"], a["_version"]) for a in actions] == [
        ("r-b|2026-02-10", "delete", written.version_ms),
        ("r-x|2026-02-10", "delete", written.version_ms),
    ]


def test_a_crash_after_writing_the_temporary_file_leaves_the_old_file(tmp_path, monkeypatch) -> None:
    write_partition(tmp_path, DAY, day_rows(["r-a", "r-b"], run_id="old"))

    def crash(self, target):
        raise OSError("killed before the rename")

    monkeypatch.setattr(type(tmp_path), "replace", crash)
    with pytest.raises(OSError, match="killed"):
        write_partition(tmp_path, DAY, day_rows(["r-c"], run_id="new"))
    monkeypatch.undo()
    stored = read(tmp_path)
    assert list(stored.region) == ["r-a", "r-b"] and set(stored.run_id) == {"old"}
    leftovers = [p.name for p in layout.anomalies_partition(tmp_path, DAY).iterdir() if p.name != layout.ANOMALIES_FILE]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp"), "the temporary file was written"
    write_partition(tmp_path, DAY, day_rows(["r-c"], run_id="new"))
    assert sorted(p.name for p in layout.anomalies_partition(tmp_path, DAY).iterdir()) == [layout.ANOMALIES_FILE]
    assert list(read(tmp_path).region) == ["r-c"]


def _subset_writer(root: str, regions: list[str], rounds: int) -> None:
    from pathlib import Path

    for i in range(rounds):
        write_partition(Path(root), DAY, day_rows(regions, score=-float(i), run_id=f"{regions[0]}-{i}"), regions)
    # Every round done (an exception exits with 1 before this). Skip interpreter teardown: pyarrow's
    # threads now and then abort a process at exit ("terminate called without an active
    # exception", SIGABRT), after the work, which would make the exit code flaky.
    os._exit(0)


def test_concurrent_subset_writers_end_with_the_union(tmp_path) -> None:
    write_partition(tmp_path, DAY, day_rows(["r-keep"]))
    subsets = [[f"r-{w}-{j}" for j in range(3)] for w in range(4)]
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_subset_writer, args=(str(tmp_path), s, 15)) for s in subsets]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * len(workers)
    stored = read(tmp_path)
    expected = sorted(["r-keep", *(r for s in subsets for r in s)])
    assert list(stored.region) == expected
    assert {r for r, run in zip(stored.region, stored.run_id, strict=True) if run.endswith("-14")} == set(expected) - {
        "r-keep"
    }, "every writer's last round is what stays"
    assert sorted(p.name for p in layout.anomalies_partition(tmp_path, DAY).iterdir()) == [layout.ANOMALIES_FILE]
