"""Pipeline tunables come from the environment, with defaults, and bad values are refused
with the variable's name."""

from __future__ import annotations

import pytest

from include.anomaly.settings import PipelineSettings


def test_defaults(monkeypatch) -> None:
    for name in ("ANOMALY_MODEL_NAME", "ANOMALY_TRAINING_WINDOW_DAYS", "ANOMALY_RETRAIN_EVERY_DAYS"):
        monkeypatch.delenv(name, raising=False)
    settings = PipelineSettings.from_env()
    assert (settings.model_name, settings.training_window_days, settings.retrain_every_days) == (
        "hourly_load_iforest",
        28,
        7,
    )


def test_overrides(monkeypatch) -> None:
    monkeypatch.setenv("ANOMALY_RETRAIN_EVERY_DAYS", "1")
    monkeypatch.setenv("ANOMALY_MAX_MISSING_HOURS", "0")
    settings = PipelineSettings.from_env()
    assert settings.retrain_every_days == 1 and settings.max_missing_hours == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ANOMALY_TRAINING_WINDOW_DAYS", "four", "ANOMALY_TRAINING_WINDOW_DAYS must be a whole number"),
        ("ANOMALY_MAX_MISSING_HOURS", "-1", "ANOMALY_MAX_MISSING_HOURS must not be negative"),
        ("ANOMALY_RETRAIN_EVERY_DAYS", "0", "at least 1"),
        ("ANOMALY_MIN_TRAINING_DAYS", "40", "cannot exceed ANOMALY_TRAINING_WINDOW_DAYS"),
    ],
)
def test_bad_values_are_refused(monkeypatch, name, value, message) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        PipelineSettings.from_env()
