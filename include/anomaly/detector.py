"""The anomaly detector: an IsolationForest over region-day features (`features.py`), with what
it needs to score new days (each region's reference, the holiday calendar) and an alarm
threshold calibrated to a target false-alarm rate on normal days.

A day's score is the forest's, lowered by `BEYOND_BOUND_WEIGHT` for every spread it lies
beyond the cleaning bound on a per-region z feature (`features.spreads_beyond_bound`). An
IsolationForest isolates a point outside its training range like the most extreme training
point, so without this a day 60 spreads below its expected level scored like one at 6 and a
level shift alone was rarely flagged (measured: recall of level_down 0.0-0.4 per sweep before,
1.0 after; benchmarks/README.md). Clean training days lie within the bound, so their scores,
and the calibration, are the forest's own.

The threshold is the `false_alarm_rate` quantile of the scores of the training window's
normal region-days (the days left after cleaning), so at the default 1 % about one normal
region-day in a hundred is flagged, whatever the data. The calibration scores are stored with
the model, so a run may ask for another rate without retraining.

Pure scikit-learn and numpy; storing it in the MLflow registry is `registry.py`'s job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from include.anomaly.features import (
    FEATURE_NAMES,
    RecentDays,
    RegionReference,
    feature_matrix,
    fit_references,
    spreads_beyond_bound,
)

DEFAULT_FALSE_ALARM_RATE = 0.01
BEYOND_BOUND_WEIGHT = 0.02  # score per spread beyond the bound (a 1 % threshold is ≈ 0.2 below median)
# 1: weekday/weekend median profiles, threshold from a training-score quantile;
# 2: per-weekday references at the recent level, calibrated threshold; 3: + the beyond-bound term
STATE_VERSION = 3


def check_false_alarm_rate(rate: float) -> float:
    if not 0.0 < rate < 0.5:
        raise ValueError(f"false-alarm rate must be between 0 and 0.5 (a share of normal days), got {rate}")
    return rate


@dataclass
class Detector:
    forest: Any  # sklearn.ensemble.IsolationForest
    references: dict[str, RegionReference]
    calibration_scores: np.ndarray  # sorted scores of the clean training region-days
    country: str  # holiday calendar
    false_alarm_rate: float  # the rate the stored threshold is calibrated to
    train_start: date
    train_end: date  # exclusive: trained only on days before it
    fingerprint: str
    region_days_set_aside: int = 0  # training region-days cleaning found anomalous

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Lower is more anomalous: the forest's score minus the beyond-bound term."""
        return anomaly_scores(self.forest, features)

    def threshold(self, false_alarm_rate: float | None = None) -> float:
        """Scores below this are anomalies: the rate's quantile of normal training days' scores."""
        rate = check_false_alarm_rate(self.false_alarm_rate if false_alarm_rate is None else false_alarm_rate)
        return float(np.quantile(self.calibration_scores, rate, method="lower"))

    def state(self) -> dict[str, Any]:
        """Everything but the forest, as JSON-able values (stored next to the model)."""
        return {
            "state_version": STATE_VERSION,
            "feature_names": list(FEATURE_NAMES),
            "references": {r: ref.as_dict() for r, ref in self.references.items()},
            "calibration_scores": self.calibration_scores.tolist(),
            "country": self.country,
            "false_alarm_rate": self.false_alarm_rate,
            "threshold": self.threshold(),
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "fingerprint": self.fingerprint,
            "region_days_set_aside": self.region_days_set_aside,
        }

    @classmethod
    def from_state(cls, forest: Any, state: dict[str, Any]) -> Detector:
        version = state.get("state_version", 1)
        if version != STATE_VERSION or state.get("feature_names") != list(FEATURE_NAMES):
            raise ValueError(
                f"model state version {version} with features {state.get('feature_names')} cannot be scored by this "
                f"code (state version {STATE_VERSION}, features {list(FEATURE_NAMES)}); run with retrain=True to "
                "train a model this code understands"
            )
        return cls(
            forest=forest,
            references={r: RegionReference.from_dict(ref) for r, ref in state["references"].items()},
            calibration_scores=np.asarray(state["calibration_scores"], dtype=float),
            country=state["country"],
            false_alarm_rate=float(state["false_alarm_rate"]),
            train_start=date.fromisoformat(state["train_start"]),
            train_end=date.fromisoformat(state["train_end"]),
            fingerprint=state["fingerprint"],
            region_days_set_aside=int(state.get("region_days_set_aside", 0)),
        )


def anomaly_scores(forest: Any, features: np.ndarray) -> np.ndarray:
    if not len(features):
        return np.empty(0)
    return forest.score_samples(features) - BEYOND_BOUND_WEIGHT * spreads_beyond_bound(features)


def fingerprint(history: dict[tuple[str, date], np.ndarray]) -> str:
    """Identifies the exact training data (regions, days and values), order-independent."""
    digest = hashlib.sha256()
    for (region, day), values in sorted(history.items()):
        digest.update(f"{region}|{day.isoformat()}|".encode())
        digest.update(np.asarray(values, dtype=np.float64).round(6).tobytes())
    return digest.hexdigest()


def train_detector(
    history: dict[tuple[str, date], np.ndarray],
    train_start: date,
    train_end: date,
    *,
    country: str = "US",
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
    n_estimators: int = 200,
    seed: int = 0,
) -> Detector:
    """Fit on the clean region-days of the window [train_start, train_end)."""
    from sklearn.ensemble import IsolationForest

    check_false_alarm_rate(false_alarm_rate)
    if any(not train_start <= day < train_end for _, day in history):
        raise ValueError(f"training data must lie in [{train_start}, {train_end}): no look-ahead")
    if not history:
        raise ValueError(f"no training data in [{train_start}, {train_end})")
    references, keys, features = fit_references(history, country)
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed).fit(features)
    return Detector(
        forest=forest,
        references=references,
        calibration_scores=np.sort(anomaly_scores(forest, features)),
        country=country,
        false_alarm_rate=false_alarm_rate,
        train_start=train_start,
        train_end=train_end,
        fingerprint=fingerprint(history),
        region_days_set_aside=len(history) - len(keys),
    )


def score_day(
    detector: Detector,
    regions: list[str],
    day: date,
    values: np.ndarray,
    recent: dict[str, RecentDays] | None = None,
    false_alarm_rate: float | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """(rows region, date, score, is_anomaly; regions the model has no reference for).
    `recent` holds each region's 24 values of the days before `day` (its recent level and shape)."""
    if day < detector.train_end:
        raise ValueError(f"model trained on data up to {detector.train_end} cannot score the earlier day {day}")
    scored, features, unknown = feature_matrix(
        regions, day, values, detector.references, recent or {}, detector.country
    )
    if not np.isfinite(features).all():
        raise ValueError(f"non-finite features for {day}: readings must be validated before scoring")
    scores = detector.scores(features)
    frame = pd.DataFrame(
        {
            "region": scored,
            "date": day.isoformat(),
            "score": scores,
            "is_anomaly": scores < detector.threshold(false_alarm_rate),
        }
    )
    return frame, unknown
