"""Pipeline tunables: environment variables with defaults, read when used (not at import), so a
deployment changes them without code and a test without reloading modules. README.md lists them."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


@dataclass(frozen=True)
class PipelineSettings:
    model_name: str
    training_window_days: int  # a model trains on this many days before its anchor day
    retrain_every_days: int  # retrain policy: the age in days after which a newer model is trained
    min_training_days: int  # refuse to train on fewer days with data
    max_missing_hours: int  # hours per region-day filled in by interpolation; more: not scorable

    @classmethod
    def from_env(cls) -> PipelineSettings:
        settings = cls(
            model_name=os.environ.get("ANOMALY_MODEL_NAME", "hourly_load_iforest"),
            training_window_days=_positive_int("ANOMALY_TRAINING_WINDOW_DAYS", 28),
            retrain_every_days=_positive_int("ANOMALY_RETRAIN_EVERY_DAYS", 7),
            min_training_days=_positive_int("ANOMALY_MIN_TRAINING_DAYS", 14),
            max_missing_hours=_positive_int("ANOMALY_MAX_MISSING_HOURS", 2),
        )
        if settings.retrain_every_days < 1:
            raise ValueError("ANOMALY_RETRAIN_EVERY_DAYS must be at least 1")
        if settings.min_training_days > settings.training_window_days:
            raise ValueError(
                f"ANOMALY_MIN_TRAINING_DAYS ({settings.min_training_days}) cannot exceed "
                f"ANOMALY_TRAINING_WINDOW_DAYS ({settings.training_window_days})"
            )
        return settings
