"""The anomaly detector: an IsolationForest over region-day features, with what it needs to
score new days (reference profiles) and to set its threshold (its training scores).

Pure scikit-learn and numpy; storing it in the MLflow registry is `registry.py`'s job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from include.anomaly.features import FEATURE_NAMES, day_features, day_type, feature_matrix, reference_profiles

DEFAULT_THRESHOLD_QUANTILE = 0.05


@dataclass
class Detector:
    forest: object  # sklearn.ensemble.IsolationForest
    profiles: dict[str, dict[str, list[float]]]
    training_scores: np.ndarray
    train_start: date
    train_end: date  # exclusive: trained only on days before it
    fingerprint: str

    def threshold(self, quantile: float = DEFAULT_THRESHOLD_QUANTILE) -> float:
        """Scores below the `quantile` of the training days' scores count as anomalies."""
        if not 0.0 < quantile < 0.5:
            raise ValueError(f"threshold quantile must be between 0 and 0.5, got {quantile}")
        return float(np.quantile(self.training_scores, quantile))

    def state(self) -> dict:
        """Everything but the forest, as JSON-able values (stored next to the model)."""
        return {
            "feature_names": list(FEATURE_NAMES),
            "profiles": self.profiles,
            "training_scores": self.training_scores.tolist(),
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_state(cls, forest: object, state: dict) -> Detector:
        if state["feature_names"] != list(FEATURE_NAMES):
            raise ValueError(
                f"model was trained on features {state['feature_names']}, this code computes {FEATURE_NAMES}"
            )
        return cls(
            forest=forest,
            profiles=state["profiles"],
            training_scores=np.asarray(state["training_scores"], dtype=float),
            train_start=date.fromisoformat(state["train_start"]),
            train_end=date.fromisoformat(state["train_end"]),
            fingerprint=state["fingerprint"],
        )


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
    n_estimators: int = 200,
    seed: int = 0,
) -> Detector:
    """Fit on every region-day of the window [train_start, train_end)."""
    from sklearn.ensemble import IsolationForest

    if any(not train_start <= day < train_end for _, day in history):
        raise ValueError(f"training data must lie in [{train_start}, {train_end}): no look-ahead")
    if not history:
        raise ValueError(f"no training data in [{train_start}, {train_end})")
    profiles = reference_profiles(history)
    keys = sorted(history)
    features = np.vstack([day_features(history[(r, d)], np.asarray(profiles[r][day_type(d)])) for r, d in keys])
    forest = IsolationForest(n_estimators=n_estimators, random_state=seed).fit(features)
    return Detector(
        forest=forest,
        profiles=profiles,
        training_scores=np.sort(forest.score_samples(features)),
        train_start=train_start,
        train_end=train_end,
        fingerprint=fingerprint(history),
    )


def score_day(
    detector: Detector, regions: list[str], day: date, values: np.ndarray, quantile: float = DEFAULT_THRESHOLD_QUANTILE
) -> tuple[pd.DataFrame, list[str]]:
    """(rows region, date, score, is_anomaly; regions the model has no profile for)."""
    if day < detector.train_end:
        raise ValueError(f"model trained on data up to {detector.train_end} cannot score the earlier day {day}")
    scored, features, unknown = feature_matrix(regions, day, values, detector.profiles)
    scores = detector.forest.score_samples(features) if len(scored) else np.empty(0)
    frame = pd.DataFrame(
        {
            "region": scored,
            "date": day.isoformat(),
            "score": scores,
            "is_anomaly": scores < detector.threshold(quantile),
        }
    )
    return frame, unknown
