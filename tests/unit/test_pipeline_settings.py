"""Pipeline tunables come from the environment, with defaults, and bad values are refused
with the variable's name."""

from __future__ import annotations

import pytest

from include.anomaly.settings import PipelineSettings, model_name

VARIABLES = (
    "ANOMALY_MODEL_NAME",
    "ANOMALY_TRAINING_WINDOW_DAYS",
    "ANOMALY_RETRAIN_EVERY_DAYS",
    "ANOMALY_MIN_TRAINING_DAYS",
    "ANOMALY_MAX_MISSING_HOURS",
    "ANOMALY_FALSE_ALARM_RATE",
    "ANOMALY_HOLIDAY_COUNTRY",
    "ANOMALY_MAX_PLAUSIBLE_VALUE",
)


def test_defaults(monkeypatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    settings = PipelineSettings.from_env()
    assert model_name() == "hourly_load_iforest"
    assert (settings.training_window_days, settings.retrain_every_days) == (28, 7)
    assert (settings.min_training_days, settings.max_missing_hours) == (14, 2)
    assert (settings.false_alarm_rate, settings.holiday_country) == (0.01, "US")
    assert settings.max_plausible_value == 1e9


def test_the_model_name_does_not_depend_on_the_other_settings(monkeypatch) -> None:
    monkeypatch.setenv("ANOMALY_MODEL_NAME", "m")
    monkeypatch.setenv("ANOMALY_MAX_MISSING_HOURS", "lots")
    assert model_name() == "m"


def test_overrides(monkeypatch) -> None:
    monkeypatch.setenv("ANOMALY_RETRAIN_EVERY_DAYS", "1")
    monkeypatch.setenv("ANOMALY_MAX_MISSING_HOURS", "0")
    monkeypatch.setenv("ANOMALY_MAX_PLAUSIBLE_VALUE", "2.5e4")
    settings = PipelineSettings.from_env()
    assert settings.retrain_every_days == 1 and settings.max_missing_hours == 0
    assert settings.max_plausible_value == 25000.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ANOMALY_TRAINING_WINDOW_DAYS", "four", "ANOMALY_TRAINING_WINDOW_DAYS must be a whole number"),
        ("ANOMALY_MAX_MISSING_HOURS", "-1", "ANOMALY_MAX_MISSING_HOURS must be at least 0"),
        ("ANOMALY_RETRAIN_EVERY_DAYS", "0", "ANOMALY_RETRAIN_EVERY_DAYS must be at least 1"),
        ("ANOMALY_TRAINING_WINDOW_DAYS", "0", "ANOMALY_TRAINING_WINDOW_DAYS must be at least 1"),
        ("ANOMALY_MIN_TRAINING_DAYS", "40", "cannot exceed ANOMALY_TRAINING_WINDOW_DAYS"),
        ("ANOMALY_FALSE_ALARM_RATE", "1", "ANOMALY_FALSE_ALARM_RATE must be between 0 and 0.5"),
        ("ANOMALY_FALSE_ALARM_RATE", "often", "ANOMALY_FALSE_ALARM_RATE must be a number"),
        ("ANOMALY_HOLIDAY_COUNTRY", "XX", "not a country the holidays package knows"),
        ("ANOMALY_MAX_PLAUSIBLE_VALUE", "huge", "ANOMALY_MAX_PLAUSIBLE_VALUE must be a number"),
        ("ANOMALY_MAX_PLAUSIBLE_VALUE", "0", "ANOMALY_MAX_PLAUSIBLE_VALUE must be a finite number above 0"),
        ("ANOMALY_MAX_PLAUSIBLE_VALUE", "-5", "ANOMALY_MAX_PLAUSIBLE_VALUE must be a finite number above 0"),
        ("ANOMALY_MAX_PLAUSIBLE_VALUE", "inf", "ANOMALY_MAX_PLAUSIBLE_VALUE must be a finite number above 0"),
        ("ANOMALY_MAX_PLAUSIBLE_VALUE", "nan", "ANOMALY_MAX_PLAUSIBLE_VALUE must be a finite number above 0"),
    ],
)
def test_bad_values_are_refused(monkeypatch, name, value, message) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        PipelineSettings.from_env()
