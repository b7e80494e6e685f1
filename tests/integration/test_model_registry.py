"""Point-in-time model selection against a real MLflow store: train on the cadence, reuse on
re-runs, never look ahead, move `champion` only forward, and never register twice under
concurrency."""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import date, timedelta

import numpy as np
import pytest

from include.anomaly import registry
from include.anomaly.demo_data import DemoConfig, region_day, region_names

pytestmark = pytest.mark.integration

REGIONS = region_names(4)
CALLS: list[tuple[date, date]] = []


def demo_history(start: date, end: date) -> dict:
    CALLS.append((start, end))
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    return {(r, d): region_day(DemoConfig(), r, d)[0] for r in REGIONS for d in days}


@pytest.fixture
def model_name(monkeypatch) -> str:
    name = f"test-registry-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ANOMALY_MODEL_NAME", name)
    CALLS.clear()
    return name


def choose(day: date, **kwargs):
    return registry.select_or_train(day, demo_history, n_estimators=30, **kwargs)


def versions(name: str) -> list:
    from mlflow import MlflowClient

    return sorted(MlflowClient().search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))


def test_train_reuse_and_champion_over_a_sequence_of_days(model_name) -> None:
    from mlflow import MlflowClient

    wednesday = date(2026, 2, 11)
    anchor = registry.anchor_date(wednesday, 7)
    assert anchor == date(2026, 2, 9) and anchor.weekday() == 0

    _, first = choose(wednesday)
    assert first.trained_now and first.champion and first.version == "1"
    assert (first.train_start, first.train_end) == (anchor - timedelta(days=28), anchor)
    assert [(anchor - timedelta(days=28), anchor)] == CALLS, "history only from before the anchor"
    tags = versions(model_name)[0].tags
    assert tags["train_end"] == "2026-02-09" and len(tags["data_fingerprint"]) == 64

    _, again = choose(wednesday)
    _, same_week = choose(date(2026, 2, 15))
    assert (again.version, again.trained_now, same_week.version) == ("1", False, "1")

    _, next_week = choose(date(2026, 2, 17))
    assert (next_week.version, next_week.trained_now, next_week.champion) == ("2", True, True)
    assert next_week.train_end == date(2026, 2, 16)

    _, backfill = choose(date(2026, 2, 3))  # an older week: its own model, champion untouched
    assert (backfill.version, backfill.train_end, backfill.champion) == ("3", date(2026, 2, 2), False)
    assert str(MlflowClient().get_model_version_by_alias(model_name, "champion").version) == "2"

    _, reused = choose(date(2026, 2, 12))
    assert reused.version == "1", "the same answer the first run gave"
    assert len(versions(model_name)) == 3


def test_loaded_detector_scores_like_the_trained_one(model_name) -> None:
    from include.anomaly.detector import score_day

    day = date(2026, 2, 11)
    trained, _ = choose(day)
    loaded, choice = choose(day)
    assert not choice.trained_now
    values = np.vstack([region_day(DemoConfig(), r, day)[0] for r in REGIONS])
    a, _ = score_day(trained, REGIONS, day, values)
    b, _ = score_day(loaded, REGIONS, day, values)
    np.testing.assert_allclose(a.score, b.score)
    assert loaded.fingerprint == trained.fingerprint


def test_retrain_trains_up_to_the_day_itself(model_name) -> None:
    _, choice = choose(date(2026, 2, 11), retrain=True)
    assert choice.train_end == date(2026, 2, 11) and choice.trained_now


def test_not_enough_history_is_a_clear_error(model_name) -> None:
    with pytest.raises(ValueError, match=r"not enough history to train a model for 2026-02-11: 0 day\(s\)"):
        registry.select_or_train(date(2026, 2, 11), lambda start, end: {}, n_estimators=10)


def _choose_in_a_process(day: date) -> str:
    return choose(day)[1].version


def test_concurrent_runs_register_one_version_and_one_champion(model_name) -> None:
    from mlflow import MlflowClient

    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        chosen = pool.map(_choose_in_a_process, [date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12)])
    assert len(set(chosen)) == 1 and len(versions(model_name)) == 1
    assert str(MlflowClient().get_model_version_by_alias(model_name, "champion").version) == chosen[0]
