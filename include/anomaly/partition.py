"""Read and validate one day's partition of hourly readings (contract: DESIGN.md §2).

`read_partition` takes any path object with `exists`, `iterdir` and `open` — Airflow's
`ObjectStoragePath` in tasks (file://, s3://, …), `pathlib.Path` in tests — so this module
needs no Airflow. It fails (PartitionError, naming the file and the problem) only when the
day cannot be read at all: partition missing or without data files, a file unreadable, empty
or without a required column. Everything else is a *bad row*, counted by reason and kept out
of scoring: timestamps that are unparsable, without an offset, outside the day or not on the
hour; empty regions; non-numeric, NaN, infinite, negative or implausibly large values (above
`max_plausible_value`, setting ANOMALY_MAX_PLAUSIBLE_VALUE: e.g. 1e300 from a broken meter);
duplicates (an exact repeat keeps
one copy; readings that disagree — e.g. a CSV and a Parquet file — are all dropped).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import pandas as pd

from include.anomaly.settings import DEFAULT_MAX_PLAUSIBLE_VALUE

if TYPE_CHECKING:
    from include.anomaly.layout import DataPath

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("timestamp", "region", "value")
READERS = {".csv": "csv", ".parquet": "parquet"}
NO_READINGS = "no valid readings for this day"
OFFSET_AT_END = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"  # a time, then its offset
NAN_WORDS = ["", "nan", "none", "null", "na", "n/a"]


class PartitionError(ValueError):
    """The day's partition cannot be read; the message names the file and the problem."""


class PartitionMissing(PartitionError):
    """No data for the day yet (no partition, or no data file in it): unlike bad data, data
    landing late can fix this."""


class PartitionSummary(TypedDict):
    """`PartitionReport` as plain values (XCom, task-health details)."""

    day: str
    files: list[str]
    rows_read: int
    rows_valid: int
    bad_rows: dict[str, int]
    ignored_columns: dict[str, list[str]]


@dataclass
class PartitionReport:
    """What reading one partition found, for logs, XCom and task-health details."""

    day: str
    files: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_valid: int = 0
    bad_rows: Counter[str] = field(default_factory=Counter)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> PartitionSummary:
        return {
            "day": self.day,
            "files": self.files,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "bad_rows": dict(self.bad_rows),
            "ignored_columns": self.ignored_columns,
        }


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _read_file(path: DataPath) -> pd.DataFrame:
    kind = READERS[_suffix(path.name)]
    try:
        with path.open("rb") as handle:  # a file object: no hive-partition columns from the path
            if kind == "csv":
                return pd.read_csv(handle, dtype=str, keep_default_na=False)
            return pd.read_parquet(handle)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except Exception as err:
        raise PartitionError(f"{path}: cannot be read as {kind} ({type(err).__name__}: {err})") from err


def _data_files(partition: DataPath) -> list[DataPath]:
    if not partition.exists():
        raise PartitionMissing(f"{partition}: partition missing (no data landed for this day)")
    files = sorted((p for p in partition.iterdir() if _suffix(p.name) in READERS), key=lambda p: p.name)
    if not files:
        raise PartitionMissing(f"{partition}: no .csv or .parquet files in the partition (yet)")
    return files


def read_partition(
    partition: DataPath, day: date, max_plausible_value: float = DEFAULT_MAX_PLAUSIBLE_VALUE
) -> tuple[pd.DataFrame, PartitionReport]:
    """Valid readings of `day` as rows (region, hour, value) and a report of what was dropped;
    readings above `max_plausible_value` are bad rows (`implausible_value`)."""
    report = PartitionReport(day=day.isoformat())
    frames = []
    for path in _data_files(partition):
        frame = _read_file(path)
        report.files.append(path.name)
        if frame.empty:
            raise PartitionError(f"{path}: file is empty (no rows)")
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise PartitionError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")
        extra = [c for c in frame.columns if c not in REQUIRED_COLUMNS]
        if extra:
            report.ignored_columns[path.name] = extra
            log.warning("%s: ignoring column(s) %s", path, ", ".join(extra))
        frames.append(frame[list(REQUIRED_COLUMNS)].assign(source=path.name))
    rows = pd.concat(frames, ignore_index=True)
    report.rows_read = len(rows)
    valid = _valid_rows(rows, day, report.bad_rows, max_plausible_value)
    report.rows_valid = len(valid)
    return valid, report


def _valid_rows(rows: pd.DataFrame, day: date, bad: Counter[str], max_plausible_value: float) -> pd.DataFrame:
    """Rows (region, hour, value) that pass every check; each other row counts once, under
    the first check it fails."""
    stamp_text = rows["timestamp"].astype(str).str.strip()
    region = rows["region"].astype(str).str.strip()
    value_text = rows["value"].astype(str).str.strip().str.lower()
    value = pd.to_numeric(rows["value"], errors="coerce")
    stamp = pd.to_datetime(stamp_text, utc=True, errors="coerce", format="ISO8601")
    checks = [
        ("timestamp_without_offset", ~stamp_text.str.contains(OFFSET_AT_END, regex=True) & stamp.notna()),
        ("unparsable_timestamp", stamp.isna()),
        ("outside_partition_day", stamp.dt.date != day),
        ("not_on_the_hour", (stamp.dt.minute != 0) | (stamp.dt.second != 0)),
        ("empty_region", region.isin(["", "nan", "None"]) | rows["region"].isna()),
        ("nan_value", value_text.isin(NAN_WORDS)),
        ("non_numeric_value", value.isna()),
        ("non_finite_value", ~np.isfinite(value)),
        ("negative_value", value < 0),
        ("implausible_value", value > max_plausible_value),
    ]
    ok = pd.Series(True, index=rows.index)
    for reason, mask in checks:
        hit = ok & mask.fillna(True).astype(bool)
        if hit.any():
            bad[reason] += int(hit.sum())
            ok &= ~hit
    good = pd.DataFrame({"region": region[ok], "hour": stamp[ok].dt.hour, "value": value[ok].astype(float)})
    return _resolve_duplicates(good, bad)


def _resolve_duplicates(rows: pd.DataFrame, bad: Counter[str]) -> pd.DataFrame:
    """Keep one copy of exact repeats; drop every reading of an hour whose copies disagree."""
    exact = rows.duplicated(["region", "hour", "value"])
    if exact.any():
        bad["duplicate"] += int(exact.sum())
        rows = rows[~exact]
    conflicting = rows.duplicated(["region", "hour"], keep=False)
    if conflicting.any():
        bad["conflicting_duplicate"] += int(conflicting.sum())
        rows = rows[~conflicting]
    return rows.sort_values(["region", "hour"]).reset_index(drop=True)


@dataclass
class RegionDays:
    """One row of 24 hourly values per scorable region-day, and the regions that were not."""

    regions: list[str]
    values: np.ndarray  # shape (len(regions), 24)
    imputed_hours: dict[str, int]
    unscorable: dict[str, str]  # region -> why


def region_days(
    rows: pd.DataFrame, expected_regions: list[str] | None = None, max_missing_hours: int = 2
) -> RegionDays:
    """Pivot valid rows to 24 values per region; fill up to `max_missing_hours` gaps by
    interpolation, and set aside regions with more gaps (or, if expected, no rows at all)."""
    wide = rows.pivot(index="region", columns="hour", values="value").reindex(columns=range(24))
    unscorable: dict[str, str] = {}
    for region in expected_regions or []:
        if region not in wide.index:
            unscorable[region] = NO_READINGS
    if expected_regions:
        wide = wide.loc[[r for r in wide.index if r in set(expected_regions)]]
    missing = wide.isna().sum(axis=1)
    for region, count in missing[missing > max_missing_hours].items():
        unscorable[region] = f"{count} of 24 hours missing or invalid (at most {max_missing_hours} are filled in)"
    wide = wide[missing <= max_missing_hours]
    filled = wide.interpolate(axis=1, limit_direction="both")
    return RegionDays(
        regions=list(filled.index),
        values=filled.to_numpy(dtype=float),
        imputed_hours={r: int(c) for r, c in missing[missing.index.isin(filled.index)].items() if c},
        unscorable=unscorable,
    )
