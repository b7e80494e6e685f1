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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

ANOMALIES_FILE = "anomalies.parquet"


class _Stat(Protocol):
    @property
    def st_mtime(self) -> float: ...


class DataPath(Protocol):
    """What the pipeline needs of a location under DATA_ROOT; `pathlib.Path` and
    `ObjectStoragePath` both have it."""

    @property
    def name(self) -> str: ...
    @property
    def parent(self) -> Self: ...
    def __truediv__(self, other: str) -> Self: ...
    def exists(self) -> bool: ...
    def is_file(self) -> bool: ...
    def iterdir(self) -> Iterator[Self]: ...
    def mkdir(self, *, parents: bool = ..., exist_ok: bool = ...) -> None: ...
    def open(self, mode: str) -> IO[Any]: ...
    def unlink(self) -> None: ...
    def replace(self, target: Self) -> Self: ...
    def stat(self) -> _Stat: ...


P = TypeVar("P", bound=DataPath)  # a function given a Path returns Paths; given an ObjectStoragePath, those


def _day(day: date) -> str:
    return f"date={day.isoformat()}"


def landing_partition(data_root: P, day: date) -> P:
    return data_root / "landing" / "hourly" / _day(day)


def landing_file(data_root: P, day: date, fmt: str = "csv") -> P:
    """The demo data's file of the day (`fmt` "csv" or "parquet")."""
    return landing_partition(data_root, day) / f"load.{fmt}"


def labels_file(data_root: P, day: date) -> P:
    return data_root / "labels" / _day(day) / "labels.csv"


def anomalies_partition(data_root: P, day: date) -> P:
    return data_root / "anomalies" / _day(day)


def anomalies_file(data_root: P, day: date) -> P:
    return anomalies_partition(data_root, day) / ANOMALIES_FILE


def anomalies_lock(data_root: P, day: date) -> P:
    """Next to the partition, not in it: replacing the partition's files never touches it."""
    return data_root / "anomalies" / f".{_day(day)}.lock"


@dataclass(frozen=True)
class Staged(Generic[P]):
    """One run's staged files: `extract` writes them, `detect` reads them, `persist` removes them."""

    region_days: P
    recent_days: P

    def reference(self) -> dict[str, str]:
        """The form that travels as XCom: the locations as strings (URIs for object storage), no data."""
        return {"region_days": str(self.region_days), "recent_days": str(self.recent_days)}

    @classmethod
    def from_reference(cls, reference: dict[str, str]) -> Staged[ObjectStoragePath]:
        from airflow.sdk import ObjectStoragePath

        return Staged(ObjectStoragePath(reference["region_days"]), ObjectStoragePath(reference["recent_days"]))


def staged(data_root: P, day: date, run_id: str) -> Staged[P]:
    directory = data_root / "staging" / "region_days" / _day(day)
    run_key = hashlib.sha256(run_id.encode()).hexdigest()[:24]
    return Staged(directory / f"run-{run_key}.parquet", directory / f"run-{run_key}.recent.parquet")
