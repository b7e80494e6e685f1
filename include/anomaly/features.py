"""Features of a region-day: how its 24 hourly values depart from the region's normal day.

Regions differ in size by orders of magnitude, and a normal Saturday is not a normal Tuesday,
so each region-day is compared with its region's *reference profile* for the same day type
(weekday or weekend): the hour-by-hour median of that region's days in the training window.
Six features describe the departure, each scale-free:
  mean_residual   overall level vs normal (level shifts)
  max_residual    the largest hourly excess (spikes)
  min_residual    the deepest hourly shortfall (outages, dips)
  residual_std    how uneven the departure is
  log_roughness   hour-to-hour movement vs normal (a flat line has none)
  shape_distance  1 - correlation with the normal shape (a shifted peak)
"""

from __future__ import annotations

from datetime import date

import numpy as np

FEATURE_NAMES = ("mean_residual", "max_residual", "min_residual", "residual_std", "log_roughness", "shape_distance")
DAY_TYPES = ("weekday", "weekend")


def day_type(day: date) -> str:
    return "weekend" if day.weekday() >= 5 else "weekday"


def reference_profiles(history: dict[tuple[str, date], np.ndarray]) -> dict[str, dict[str, list[float]]]:
    """{region: {day type: 24 medians}} from {(region, day): 24 values} of the training window.
    A region with days of only one type uses that profile for both."""
    grouped: dict[str, dict[str, list[np.ndarray]]] = {}
    for (region, day), values in history.items():
        grouped.setdefault(region, {}).setdefault(day_type(day), []).append(values)
    profiles = {}
    for region, by_type in grouped.items():
        medians = {kind: np.median(np.vstack(days), axis=0) for kind, days in by_type.items()}
        fallback = next(iter(medians.values()))
        profiles[region] = {kind: medians.get(kind, fallback).tolist() for kind in DAY_TYPES}
    return profiles


def day_features(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The six features of one region-day against its reference profile."""
    reference = np.maximum(np.asarray(reference, dtype=float), 1e-9)
    values = np.asarray(values, dtype=float)
    residual = values / reference - 1.0
    roughness = np.abs(np.diff(values)).mean() / max(np.abs(np.diff(reference)).mean(), 1e-9)
    correlation = np.corrcoef(values, reference)[0, 1] if values.std() > 1e-9 and reference.std() > 1e-9 else 0.0
    return np.array(
        [residual.mean(), residual.max(), residual.min(), residual.std(), np.log(roughness + 1e-3), 1.0 - correlation]
    )


def feature_matrix(
    regions: list[str], day: date, values: np.ndarray, profiles: dict[str, dict[str, list[float]]]
) -> tuple[list[str], np.ndarray, list[str]]:
    """(scored regions, features, regions without a reference profile) for one day's rows."""
    kind = day_type(day)
    scored, rows, unknown = [], [], []
    for region, row in zip(regions, values, strict=True):
        if region not in profiles:
            unknown.append(region)
            continue
        scored.append(region)
        rows.append(day_features(row, np.asarray(profiles[region][kind])))
    return scored, np.vstack(rows) if rows else np.empty((0, len(FEATURE_NAMES))), unknown
