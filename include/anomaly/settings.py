"""Pipeline tunables: environment variables with defaults, read when used (not at import), so a
deployment changes them without code and a test without reloading modules. README.md lists them."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

DEFAULT_MODEL_NAME = "hourly_load_iforest"
DEFAULT_MAX_PLAUSIBLE_VALUE = 1e9


def model_name() -> str:
    """The registered model's name alone (reading it must not depend on the other settings)."""
    return os.environ.get("ANOMALY_MODEL_NAME", DEFAULT_MODEL_NAME)


def _whole_number(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def _share(name: str, default: float) -> float:
    value = _number(name, default)
    if not 0.0 < value < 0.5:
        raise ValueError(f"{name} must be between 0 and 0.5 (e.g. 0.01 for 1 %), got {value}")
    return value


def max_plausible_value() -> float:
    """ANOMALY_MAX_PLAUSIBLE_VALUE: readings above it are bad rows (`implausible_value`)."""
    name = "ANOMALY_MAX_PLAUSIBLE_VALUE"
    value = _number(name, DEFAULT_MAX_PLAUSIBLE_VALUE)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number above 0 (e.g. 1e9), got {os.environ.get(name)!r}")
    return value


def _country(code: str) -> str:
    """An ISO 3166 code the `holidays` package knows, or "" for no holidays."""
    code = code.strip().upper()
    if code:
        import holidays

        # Asking for the one country loads only its module; `list_supported_countries()` imports
        # all ~250 of them, which cost every task process ~0.1-0.4 s of CPU (measured under Celery).
        try:
            holidays.country_holidays(code)
        except NotImplementedError as err:
            raise ValueError(f"ANOMALY_HOLIDAY_COUNTRY {code!r} is not a country the holidays package knows") from err
    return code


@dataclass(frozen=True)
class PipelineSettings:
    training_window_days: int  # a model trains on this many days before its anchor day
    retrain_every_days: int  # retrain policy: the age in days after which a newer model is trained
    min_training_days: int  # refuse to train on fewer days with data
    max_missing_hours: int  # hours per region-day filled in by interpolation; more: not scorable
    false_alarm_rate: float  # share of normal region-days the threshold lets through (new models' calibration)
    holiday_country: str  # public holidays (scored as Sundays) of this ISO country code; "" for none
    max_plausible_value: float  # readings above it are bad rows (implausible_value)

    @classmethod
    def from_env(cls) -> PipelineSettings:
        settings = cls(
            training_window_days=_whole_number("ANOMALY_TRAINING_WINDOW_DAYS", 28, minimum=1),
            retrain_every_days=_whole_number("ANOMALY_RETRAIN_EVERY_DAYS", 7, minimum=1),
            min_training_days=_whole_number("ANOMALY_MIN_TRAINING_DAYS", 14, minimum=1),
            max_missing_hours=_whole_number("ANOMALY_MAX_MISSING_HOURS", 2, minimum=0),
            false_alarm_rate=_share("ANOMALY_FALSE_ALARM_RATE", 0.01),
            holiday_country=_country(os.environ.get("ANOMALY_HOLIDAY_COUNTRY", "US")),
            max_plausible_value=max_plausible_value(),
        )
        if settings.min_training_days > settings.training_window_days:
            raise ValueError(
                f"ANOMALY_MIN_TRAINING_DAYS ({settings.min_training_days}) cannot exceed "
                f"ANOMALY_TRAINING_WINDOW_DAYS ({settings.training_window_days})"
            )
        return settings
