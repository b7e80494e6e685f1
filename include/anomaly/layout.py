"""Where every file under DATA_ROOT lives; no other module spells a path under it.

    <DATA_ROOT>/
    ├── landing/hourly/date=YYYY-MM-DD/          input (DESIGN.md §2): any *.csv / *.parquet;
    │   └── load.csv | load.parquet              the demo data writes one of these
    ├── labels/date=YYYY-MM-DD/labels.csv        the demo data's truth, for the evaluation
    ├── staging/region_days/date=YYYY-MM-DD/     what `extract` hands to `detect` and `persist`:
    │   ├── run-<hash>.parquet                   the run's validated region-days
    │   └── run-<hash>.recent.parquet            its regions' recent days
    └── anomalies/                               output (DESIGN.md §4)
        ├── .date=YYYY-MM-DD.lock                serialises the day's writers (local roots)
        └── date=YYYY-MM-DD/anomalies.parquet

`<hash>` is the first 24 hex digits of the SHA-256 of the run id: one file per run, a safe name
whatever characters the run id has. Every function takes the root as a path object
(`ObjectStoragePath` in tasks, `pathlib.Path` in tests and scripts) and returns one of the same
kind; `Staged.from_reference` gives `ObjectStoragePath`s back from the strings that travel as
XCom (a plain local path included). No file is read or written here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

ANOMALIES_FILE = "anomalies.parquet"


def _day(day: date) -> str:
    return f"date={day.isoformat()}"


def landing_partition(data_root: Any, day: date) -> Any:
    return data_root / "landing" / "hourly" / _day(day)


def landing_file(data_root: Any, day: date, fmt: str = "csv") -> Any:
    """The demo data's file of the day (`fmt` "csv" or "parquet")."""
    return landing_partition(data_root, day) / f"load.{fmt}"


def labels_file(data_root: Any, day: date) -> Any:
    return data_root / "labels" / _day(day) / "labels.csv"


def anomalies_partition(data_root: Any, day: date) -> Any:
    return data_root / "anomalies" / _day(day)


def anomalies_file(data_root: Any, day: date) -> Any:
    return anomalies_partition(data_root, day) / ANOMALIES_FILE


def anomalies_lock(data_root: Any, day: date) -> Any:
    """Next to the partition, not in it: replacing the partition's files never touches it."""
    return data_root / "anomalies" / f".{_day(day)}.lock"


@dataclass(frozen=True)
class Staged:
    """One run's staged files: `extract` writes them, `detect` reads them, `persist` removes them."""

    region_days: Any
    recent_days: Any

    def reference(self) -> dict[str, str]:
        """The form that travels as XCom: the locations as strings (URIs for object storage), no data."""
        return {"region_days": str(self.region_days), "recent_days": str(self.recent_days)}

    @classmethod
    def from_reference(cls, reference: dict[str, str]) -> Staged:
        from airflow.sdk import ObjectStoragePath

        return cls(ObjectStoragePath(reference["region_days"]), ObjectStoragePath(reference["recent_days"]))


def staged(data_root: Any, day: date, run_id: str) -> Staged:
    directory = data_root / "staging" / "region_days" / _day(day)
    run_key = hashlib.sha256(run_id.encode()).hexdigest()[:24]
    return Staged(directory / f"run-{run_key}.parquet", directory / f"run-{run_key}.recent.parquet")
