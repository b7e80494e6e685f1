"""Persist one day's detection output (contract: DESIGN.md §4).

- Parquet: the day's anomalies file (`layout.anomalies_file`), never appended to. A full run
  (no `regions`) replaces the day's rows; a run for a subset of regions replaces only those
  regions' rows (the existing file is read, the subset's rows swapped, the result written).
  The new file is written under a unique temporary name, then renamed over the final name
  (`os.replace` semantics: readers see the old file or the new one, a crash before the rename
  leaves the old file in place), and only then are the partition's other files removed.
- Writers of one day are serialised by an exclusive `flock(2)` on the day's lock file
  (`layout.anomalies_lock`, next to the partition), so concurrent runs of a day
  (`max_active_runs` 3) never lose each other's subset rows and never delete each other's
  temporary file. Limitation: the lock exists for local (`file://`) roots only. On object stores
  (s3://, gs://, ...) there is no lock: the rename is still all-or-nothing per file, but two
  concurrent subset runs of the same day can lose one run's rows (last writer wins), and a
  writer may remove another's temporary file (that run's persist then fails and is retried).
- Elasticsearch: the same rows in the `anomalies` index with `_id = region|date`, written with
  an external version (the time the partition was written, taken under the lock), so a late
  replay of an older run's rows never overwrites a newer run's. Rows the run removed (regions in
  its scope that the previous file or the index has but the run did not score) are deleted with
  the same external version. Delivery goes through the task-health shipper (spool and replay
  when the cluster is down: persisting never fails because Elasticsearch is away).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from include.anomaly import layout

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from include.anomaly.layout import DataPath, P
    from include.delivery.spool import Action

COLUMNS = ("region", "date", "score", "is_anomaly", "model_name", "model_version", "run_id")
TEMP_PREFIX = f".{layout.ANOMALIES_FILE}."

log = logging.getLogger(__name__)


def _local_path(path: DataPath) -> str | None:
    """The local filesystem path of `path` (a `pathlib.Path` or a `file://` ObjectStoragePath),
    None for other stores."""
    protocol = getattr(path, "protocol", "")
    if protocol in ("", "file", "local"):
        return str(getattr(path, "path", path)) if protocol else str(path)
    return None


@contextlib.contextmanager
def day_lock(data_root: DataPath, day: date) -> Iterator[bool]:
    """Exclusive lock on the day's partition for local roots (True); a no-op elsewhere (False)."""
    local = _local_path(layout.anomalies_lock(data_root, day))
    if local is None:
        yield False
        return
    import fcntl
    import os

    os.makedirs(os.path.dirname(local), exist_ok=True)
    with open(local, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class PartitionWrite:
    path: DataPath
    rows: pd.DataFrame  # every row of the day now in the partition
    removed: set[str] = field(default_factory=set)  # regions the run dropped from the file
    version_ms: int = 0  # external version for the run's index actions


def _read(path: DataPath) -> pd.DataFrame:
    with path.open("rb") as handle:
        return pd.read_parquet(handle)


def _normalised(rows: pd.DataFrame) -> pd.DataFrame:
    frame = rows.loc[:, list(COLUMNS)].astype({"score": float, "is_anomaly": bool})
    return frame.sort_values("region", kind="stable").reset_index(drop=True)


def write_partition(
    data_root: P, day: date, rows: pd.DataFrame, regions: Iterable[str] | None = None
) -> PartitionWrite:
    """Write the day's rows: replace the whole day (`regions` empty or None) or only the rows
    of `regions` (the other regions' rows of the existing file are kept)."""
    missing = [c for c in COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"detection rows lack column(s) {missing}")
    if not (rows["date"] == day.isoformat()).all():
        raise ValueError(f"detection rows for {day} contain other dates")
    scope = set(regions or ())
    outside = set(rows["region"]) - scope if scope else set()
    if outside:
        raise ValueError(f"detection rows for regions outside the run's subset: {sorted(outside)}")
    final = layout.anomalies_file(data_root, day)
    partition = final.parent
    with day_lock(data_root, day):
        partition.mkdir(parents=True, exist_ok=True)
        old = None
        if final.exists():
            try:
                old = _read(final)
            except Exception:
                if scope:  # the other regions' rows would be lost: refuse
                    raise
                log.warning("existing %s unreadable; a full run replaces it", final)
        new = rows
        if scope and old is not None:
            new = pd.concat([old[~old["region"].isin(scope)], rows], ignore_index=True)
        new = _normalised(new)
        old_regions = set() if old is None else set(old["region"])
        removed = {r for r in old_regions if not scope or r in scope} - set(new["region"])
        staged = partition / f"{TEMP_PREFIX}{uuid.uuid4().hex}.tmp"
        with staged.open("wb") as handle:
            new.to_parquet(handle, index=False)
        staged.replace(final)
        for stray in partition.iterdir():
            if stray.name != final.name and stray.is_file():
                stray.unlink()
        version_ms = time.time_ns() // 1_000_000
    return PartitionWrite(path=final, rows=new, removed=removed, version_ms=version_ms)


def index_actions(rows: pd.DataFrame, computed_at_ms: int, index: str = "anomalies") -> list[Action]:
    """Bulk actions for the `anomalies` index: one per row, `_id = region|date`."""
    actions: list[Action] = []
    for row in rows.loc[:, list(COLUMNS)].to_dict("records"):
        source = {**row, "score": float(row["score"]), "is_anomaly": bool(row["is_anomaly"])}
        source["@timestamp"] = row["date"]
        actions.append(
            {"_index": index, "_id": f"{row['region']}|{row['date']}", "_version": computed_at_ms, "_source": source}
        )
    return actions


def delete_actions(regions: Iterable[str], day: date, computed_at_ms: int, index: str = "anomalies") -> list[Action]:
    """Deletes (external version `computed_at_ms`) of the regions' documents of the day."""
    return [
        {
            "_index": index,
            "_id": f"{region}|{day.isoformat()}",
            "_version": computed_at_ms,
            "_op_type": "delete",
            "_source": {},
        }
        for region in sorted(set(regions))
    ]


def indexed_regions(client: Elasticsearch, index: str, day: date, page: int = 1000) -> set[str]:
    """Regions with a document of `day` in the index (paged with search_after; no
    _delete_by_query needed). Raises when the cluster cannot answer."""
    found: set[str] = set()
    after = None  # not sent while None
    while True:
        response = client.search(
            index=index,
            query={"term": {"date": day.isoformat()}},
            source=False,
            size=page,
            sort=[{"region": "asc"}],
            ignore_unavailable=True,
            search_after=after,
        )
        hits = response["hits"]["hits"]
        found.update(h["_id"].rsplit("|", 1)[0] for h in hits)
        if len(hits) < page:
            return found
        after = hits[-1]["sort"]


def stale_regions(written: PartitionWrite, indexed: set[str], regions: Iterable[str] | None) -> set[str]:
    """Regions whose document of the day must go: in the run's scope (every region for a full
    run), in the previous file or the index, and not in the partition now."""
    scope = set(regions or ())
    candidates = written.removed | {r for r in indexed if not scope or r in scope}
    return candidates - set(written.rows["region"])
