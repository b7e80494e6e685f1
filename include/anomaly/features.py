"""Features of a region-day: how its 24 hourly values depart from what that region does on that
kind of day at its recent level.

Load follows the day of the week (Saturday ≠ Sunday ≠ Monday; a public holiday is a Sunday,
`calendar.day_kind`) and drifts with the season. So a region's *reference* holds, per kind of
day, a level factor and a shape (24 hourly shares), learnt from the training window after the
anomalous days in it are set aside; and the level a day is compared with is the region's
**recent** level — the median of its last `RECENT_DAYS` daily means, each divided by its own
kind's factor — so a day scored a week after training is judged against last week, not against
the training window. Every feature is scaled by what is normal for that region (its own day-to-
day and hour-to-hour spread), so a noisy region is not flagged for being noisy:
  level_z        the day's level vs expected, in the region's day-level spreads
  max_residual_z the largest hourly excess over the expected shape (spikes)
  min_residual_z the deepest hourly shortfall (outages)
  residual_std_z how uneven the departure is (noise bursts, shifted peaks)
  roughness      log hour-to-hour movement vs the region's normal (a stuck meter has none)
  shape_distance log (1 - correlation with the expected shape) vs the region's normal
  flat_hours     the longest run of identical readings, as a share of the day
  worst_z        the largest of |level_z| and the hourly residual spreads: one axis on which
                 every kind of anomaly is far out, so the forest isolates a day that departs on
                 one feature only as readily as one that departs on several
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import numpy as np

from include.anomaly.calendar import SUNDAY, day_kind

FEATURE_NAMES = (
    "level_z",
    "max_residual_z",
    "min_residual_z",
    "residual_std_z",
    "roughness",
    "shape_distance",
    "flat_hours",
    "worst_z",
)
Z_FEATURES = ("level_z", "max_residual_z", "min_residual_z", "residual_std_z")  # in the region's own spreads
RECENT_DAYS = 7  # daily means a day's expected level is taken from
MIN_RECENT_DAYS = 3
CLEANING_Z = 6.0  # a training day further out than this on any spread is set aside
MIN_CLEAN_PER_KIND = 2  # cleaning keeps at least this many days of each kind of day
EPS = 1e-9

RecentDays = dict[date, np.ndarray]  # a region's 24 values of each of the days before the scored day
KindOf = Callable[[date], int]  # a day's kind: 0 (Monday) … 6 (Sunday or holiday)
T = TypeVar("T")


@dataclass
class RegionReference:
    """What is normal for one region (JSON-able through `as_dict`/`from_dict`)."""

    kind_levels: list[float]  # log level factor per kind of day (0 Monday … 6 Sunday/holiday)
    shapes: list[list[float]]  # per kind of day, 24 hourly shares (mean 1)
    level_sd: float  # robust spread of the log day-level residual
    hour_sd: float  # a normal day's spread of hourly residuals around the shape
    roughness: float  # median log roughness ratio of normal days
    shape_distance: float  # median log (1 - correlation) of normal days
    last_level: float  # deseasonalised log level at the end of the window (no recent days: this)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RegionReference:
        return cls(**data)


def _robust_sd(values: np.ndarray, floor: float) -> float:
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return floor
    return max(float(1.4826 * np.median(np.abs(values - np.median(values)))), floor)


def _longest_flat_run(values: np.ndarray) -> float:
    same = np.isclose(np.diff(values), 0.0, rtol=0, atol=1e-9 * max(float(np.abs(values).max()), 1.0))
    best = run = 0
    for equal in same:
        run = run + 1 if equal else 0
        best = max(best, run)
    return (best + 1) / 24 if best else 0.0


def _kind_fallback(by_kind: dict[int, T], kind: int) -> T:
    """The value for `kind`, else the nearest kind that has one (weekdays ↔ weekdays, Sat ↔ Sun)."""
    order = [kind, *([5, SUNDAY] if kind >= 5 else [0, 1, 2, 3, 4]), *range(7)]
    return next(by_kind[k] for k in order if k in by_kind)


def _recent(day: date, recent: RecentDays) -> list[date]:
    return [d for d in recent if day - timedelta(days=RECENT_DAYS) <= d < day]


def expected_level(reference: RegionReference, kind: int, day: date, recent: RecentDays, kinds: KindOf) -> float:
    """The expected log daily mean of `day`: its kind's factor on top of the recent level."""
    levels = [np.log(max(recent[d].mean(), EPS)) - reference.kind_levels[kinds(d)] for d in _recent(day, recent)]
    level = float(np.median(levels)) if len(levels) >= MIN_RECENT_DAYS else reference.last_level
    return reference.kind_levels[kind] + level


def expected_shape(
    shape: np.ndarray, reference: RegionReference, day: date, recent: RecentDays, kinds: KindOf
) -> np.ndarray:
    """`shape` (the kind's reference) moved as the recent days moved away from their own kinds'
    references (an evening peak that drifts with daylight): the hour-by-hour median ratio,
    smoothed over three hours, then renormalised to mean 1."""
    window = _recent(day, recent)
    if len(window) < MIN_RECENT_DAYS:
        return shape
    ratios = [
        recent[d] / max(recent[d].mean(), EPS) / np.maximum(np.asarray(reference.shapes[kinds(d)]), EPS) for d in window
    ]
    drift = np.median(np.vstack(ratios), axis=0)
    drift = (np.roll(drift, 1) + drift + np.roll(drift, -1)) / 3
    moved = shape * drift
    return moved / moved.mean()


def day_features(
    values: np.ndarray, reference: RegionReference, log_expected: float, kind: int, shape: np.ndarray | None = None
) -> np.ndarray:
    """The features of one region-day against its reference (or `shape`) and expected log level."""
    values = np.asarray(values, dtype=float)
    mean = max(float(values.mean()), EPS)
    shape = np.maximum(np.asarray(reference.shapes[kind] if shape is None else shape, dtype=float), EPS)
    residual = values / mean / shape - 1.0
    expected = shape * mean
    roughness = np.abs(np.diff(values)).mean() / max(np.abs(np.diff(expected)).mean(), EPS)
    correlation = float(np.corrcoef(values, shape)[0, 1]) if values.std() > EPS else 0.0
    level_z = (np.log(mean) - log_expected) / reference.level_sd
    spread_z = residual.std() / reference.hour_sd
    return np.array(
        [
            level_z,
            residual.max() / reference.hour_sd,
            residual.min() / reference.hour_sd,
            spread_z,
            np.log(roughness + 1e-3) - reference.roughness,
            np.log(max(1.0 - correlation, 1e-4)) - reference.shape_distance,
            _longest_flat_run(values),
            max(abs(level_z), spread_z),
        ]
    )


def _fit_region(days: dict[date, np.ndarray], kinds: KindOf, clean: set[date]) -> RegionReference:
    """A region's reference from its clean days (the day-level factors are relative to a centred
    7-day mean of the log level, which holds one day of each kind and so cancels the trend)."""
    order = sorted(clean)
    log_mean = {d: float(np.log(max(days[d].mean(), EPS))) for d in order}
    ratio: dict[int, list[float]] = defaultdict(list)
    shapes: dict[int, list[np.ndarray]] = defaultdict(list)
    for d in order:
        around = [log_mean[o] for o in order if abs((o - d).days) <= 3]
        ratio[kinds(d)].append(log_mean[d] - float(np.mean(around)))
        shapes[kinds(d)].append(days[d] / max(days[d].mean(), EPS))
    level_by_kind = {k: float(np.median(v)) for k, v in ratio.items()}
    shape_by_kind = {k: np.median(np.vstack(v), axis=0) for k, v in shapes.items()}
    kind_levels = [_kind_fallback(level_by_kind, k) for k in range(7)]
    reference = RegionReference(
        kind_levels=kind_levels,
        shapes=[_kind_fallback(shape_by_kind, k).tolist() for k in range(7)],
        level_sd=1.0,
        hour_sd=1.0,
        roughness=0.0,
        shape_distance=0.0,
        last_level=float(np.median([log_mean[d] - kind_levels[kinds(d)] for d in order[-RECENT_DAYS:]])),
    )
    raw = _training_features(days, reference, kinds, order, clean)
    reference.level_sd = _robust_sd(raw[:, 0], 0.005)
    reference.hour_sd = max(float(np.median(raw[:, 3])), 0.002)  # a normal day's hourly residual spread
    reference.roughness = float(np.median(raw[:, 4]))
    reference.shape_distance = float(np.median(raw[:, 5]))
    return reference


def _training_features(
    days: dict[date, np.ndarray], reference: RegionReference, kinds: KindOf, order: list[date], clean: set[date]
) -> np.ndarray:
    """Features of the training days as a new day would get them: each day's shape from the
    *other* clean days of its kind (a median that includes the day itself would make normal
    days look closer to normal than new days ever are) and its level from the days before it."""
    shares = {d: days[d] / max(float(days[d].mean()), EPS) for d in order}
    rows = []
    for d in order:
        kind = kinds(d)
        others = [shares[o] for o in clean if o != d and kinds(o) == kind]
        shape = np.median(np.vstack(others), axis=0) if others else np.asarray(reference.shapes[kind])
        rows.append(_features(days[d], reference, kind, d, days, kinds, shape))
    return np.vstack(rows)


def _features(
    values: np.ndarray,
    reference: RegionReference,
    kind: int,
    day: date,
    recent: RecentDays,
    kinds: KindOf,
    shape: np.ndarray,
) -> np.ndarray:
    log_expected = expected_level(reference, kind, day, recent, kinds)
    return day_features(values, reference, log_expected, kind, expected_shape(shape, reference, day, recent, kinds))


def spreads_beyond_bound(features: np.ndarray) -> np.ndarray:
    """Per row, how many of the region's own spreads its furthest `Z_FEATURES` value lies beyond
    CLEANING_Z, the bound that sets training days aside (0: within it)."""
    columns = [FEATURE_NAMES.index(name) for name in Z_FEATURES]
    return np.maximum(np.abs(features[:, columns]).max(axis=1, initial=0.0) - CLEANING_Z, 0.0)


def _suspicion(features: np.ndarray) -> np.ndarray:
    """Per training day, its largest robust z over the features (beyond CLEANING_Z: anomalous)."""
    features = features[:, : FEATURE_NAMES.index("worst_z")]  # a summary of the others, not a check of its own
    centre = np.median(features, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(features - centre), axis=0), 1e-3)
    return (np.abs(features - centre) / spread).max(axis=1)


def _clean_days(order: list[date], suspicion: np.ndarray, kinds: KindOf) -> set[date]:
    """The days within CLEANING_Z, plus, for a kind of day left with fewer than MIN_CLEAN_PER_KIND,
    its least suspicious others: a kind has 4 days a window, and when two are anomalous the
    first pass's leave-one-out shapes make its normal days look anomalous too; with none left,
    its reference would be another kind's (Saturdays judged as Sundays)."""
    clean = {d for d, z in zip(order, suspicion, strict=True) if z <= CLEANING_Z}
    by_kind: dict[int, list[tuple[float, date]]] = defaultdict(list)
    for d, z in zip(order, suspicion, strict=True):
        by_kind[kinds(d)].append((float(z), d))
    for ranked in by_kind.values():  # the least suspicious are clean already when within the bound
        clean.update(d for _, d in sorted(ranked)[:MIN_CLEAN_PER_KIND])
    return clean


def fit_references(
    history: dict[tuple[str, date], np.ndarray], country: str
) -> tuple[dict[str, RegionReference], list[tuple[str, date]], np.ndarray]:
    """(reference per region, the clean training region-days, their features). Two passes: a
    reference from every day, then one from the days that reference does not find anomalous,
    so contamination in the history does not teach the model that outages are normal."""
    kinds = _kinds(country)
    by_region: dict[str, dict[date, np.ndarray]] = defaultdict(dict)
    for (region, day), values in history.items():
        by_region[region][day] = np.asarray(values, dtype=float)
    references, keys, rows = {}, [], []
    for region, days in sorted(by_region.items()):
        order = sorted(days)
        first = _fit_region(days, kinds, set(order))
        clean = _clean_days(order, _suspicion(_training_features(days, first, kinds, order, set(order))), kinds)
        reference = _fit_region(days, kinds, clean)
        features = _training_features(days, reference, kinds, order, clean)
        references[region] = reference
        for day, row in zip(order, features, strict=True):
            if day in clean:
                keys.append((region, day))
                rows.append(row)
    return references, keys, np.vstack(rows) if rows else np.empty((0, len(FEATURE_NAMES)))


def _kinds(country: str) -> KindOf:
    return lambda day: day_kind(day, country)


def feature_matrix(
    regions: list[str],
    day: date,
    values: np.ndarray,
    references: dict[str, RegionReference],
    recent: dict[str, RecentDays],
    country: str,
) -> tuple[list[str], np.ndarray, list[str]]:
    """(scored regions, features, regions without a reference) for one day's rows."""
    kinds = _kinds(country)
    kind = kinds(day)
    scored, rows, unknown = [], [], []
    for region, row in zip(regions, values, strict=True):
        reference = references.get(region)
        if reference is None:
            unknown.append(region)
            continue
        scored.append(region)
        shape = np.asarray(reference.shapes[kind])
        rows.append(_features(row, reference, kind, day, recent.get(region, {}), kinds, shape))
    return scored, np.vstack(rows) if rows else np.empty((0, len(FEATURE_NAMES))), unknown
