"""The day's validated region-days, written once by `extract` and read by every detect shard.

Shards score exactly what `extract` validated and reported (a file landing in the partition
mid-run changes nothing), and each shard reads one small table (a row of 24 values per
region) instead of re-reading and re-validating the whole day, which made a run's cost grow
with shards x regions. One file per run: `<DATA_ROOT>/staging/region_days/date=D/<run>.parquet`,
so two runs of the same day never read each other's; `persist` removes it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pandas as pd

from include.anomaly.partition import NO_READINGS, RegionDays

HOURS = [f"h{hour:02d}" for hour in range(24)]


def staging_file(data_root: Any, day: date, run_id: str) -> Any:
    safe_run = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)
    return data_root / "staging" / "region_days" / f"date={day.isoformat()}" / f"{safe_run}.parquet"


def write_region_days(data_root: Any, day: date, run_id: str, found: RegionDays) -> Any:
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
    path = staging_file(data_root, day, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        table[["region", *HOURS, "imputed_hours", "unscorable_reason"]].to_parquet(handle, index=False)
    return path


def read_region_days(data_root: Any, day: date, run_id: str, regions: list[str]) -> RegionDays:
    """The staged rows of `regions`; a region absent from the day's data is unscorable."""
    path = staging_file(data_root, day, run_id)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no validated region-days for this run (did extract run for {day}?)")
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


def remove_region_days(data_root: Any, day: date, run_id: str) -> None:
    path = staging_file(data_root, day, run_id)
    if path.exists():
        path.unlink()
    if path.parent.exists() and not any(path.parent.iterdir()):
        path.parent.rmdir()
