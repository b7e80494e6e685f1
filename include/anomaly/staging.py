"""The day's validated region-days, written once by `extract` and read by every detect shard.

Shards score exactly what `extract` validated and reported (a file landing in the partition
mid-run changes nothing), and each shard reads one small table (a row of 24 values per
region) instead of re-reading and re-validating the whole day, which made a run's cost grow
with shards x regions. One file per run (`layout.staged`, with its `.recent` part), so two runs
of the same day never touch each other's; `extract` hands their locations to `detect` and
`persist` as XCom (`layout.Staged.reference`). `persist` removes the run's files (clearing
`detect` afterwards needs `extract` cleared too, and says so); files of runs that never reached
`persist` are removed by a later `extract` of the same day once they are older than
`STALE_AFTER_S`. The functions take the file's path, never rebuild it.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from include.anomaly import layout
from include.anomaly.partition import NO_READINGS, RegionDays

if TYPE_CHECKING:
    from include.anomaly.layout import DataPath, P

HOURS = [f"h{hour:02d}" for hour in range(24)]
STALE_AFTER_S = 2 * 24 * 3600

log = logging.getLogger(__name__)


class StagedDataMissing(FileNotFoundError):
    """The run's staged region-days are gone; retrying `detect` alone cannot bring them back."""


def write_recent_days(path: DataPath, recent: dict[tuple[str, date], np.ndarray]) -> None:
    """The scorable region-days before the run's day that the detector takes each region's recent
    level and shape from (read once by `extract`, like the day itself)."""
    keys = sorted(recent)
    table = pd.DataFrame(np.vstack([recent[k] for k in keys]) if keys else np.empty((0, 24)), columns=HOURS)
    table.insert(0, "date", [d.isoformat() for _, d in keys])
    table.insert(0, "region", [r for r, _ in keys])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        table.to_parquet(handle, index=False)


def read_recent_days(path: DataPath, regions: list[str]) -> dict[str, dict[date, np.ndarray]]:
    if not path.exists():
        raise StagedDataMissing(f"{path}: the recent days this run staged are gone; clear the run from `extract`")
    with path.open("rb") as handle:
        table = pd.read_parquet(handle)
    table = table[table["region"].isin(set(regions))]
    recent: dict[str, dict[date, np.ndarray]] = {}
    values = table[HOURS].to_numpy(dtype=float)
    for region, day_text, row in zip(table["region"], table["date"], values, strict=True):
        recent.setdefault(region, {})[date.fromisoformat(day_text)] = row
    return recent


def write_region_days(path: DataPath, found: RegionDays) -> None:
    """Scorable regions with their 24 values, unscorable ones with the reason (values empty)."""
    scorable = pd.DataFrame(found.values, columns=HOURS).assign(
        region=found.regions,
        imputed_hours=[found.imputed_hours.get(r, 0) for r in found.regions],
        unscorable_reason=None,
    )
    unscorable = pd.DataFrame(
        {"region": list(found.unscorable), "imputed_hours": 0, "unscorable_reason": list(found.unscorable.values())}
    )
    table = pd.concat([scorable, unscorable], ignore_index=True) if len(unscorable) else scorable
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    with path.open("wb") as handle:
        table[["region", *HOURS, "imputed_hours", "unscorable_reason"]].to_parquet(handle, index=False)


def read_region_days(path: DataPath, regions: list[str]) -> RegionDays:
    """The staged rows of `regions`; a region absent from the day's data is unscorable."""
    if not path.exists():
        raise StagedDataMissing(
            f"{path}: the validated region-days this run staged are gone (persist removes them once the "
            "run's output is written); clear this run from `extract` to score the day again"
        )
    with path.open("rb") as handle:
        table = pd.read_parquet(handle).set_index("region")
    wanted = table.reindex(regions)
    reasons = wanted["unscorable_reason"].where(wanted.index.isin(table.index), NO_READINGS)
    scorable = wanted[reasons.isna()]
    return RegionDays(
        regions=list(scorable.index),
        values=scorable[HOURS].to_numpy(dtype=float).reshape(len(scorable), 24),
        imputed_hours={r: int(n) for r, n in scorable["imputed_hours"].items() if n},
        unscorable=dict(reasons.dropna().items()),
    )


def remove_staged(staged: layout.Staged[P]) -> None:
    for path in (staged.region_days, staged.recent_days):
        if path.exists():
            path.unlink()


def _remove_stale(keep: DataPath) -> None:
    """Best effort: drop other runs' files of the day older than STALE_AFTER_S (runs that
    failed before `persist`); a store without modification times keeps them."""
    for other in keep.parent.iterdir():
        try:
            if other.name != keep.name and time.time() - other.stat().st_mtime > STALE_AFTER_S:
                other.unlink()
                log.info("removed stale staged region-days %s", other)
        except (OSError, AttributeError, NotImplementedError, TypeError) as err:
            log.debug("cannot age %s: %s", other, err)
