"""Features and the detector on demo data: no look-ahead, scale-free, and it finds the
injected anomalies far better than the raw-values baseline."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import numpy as np
import pytest

from include.anomaly.demo_data import DemoConfig, normal_profile, region_day, region_names
from include.anomaly.detector import Detector, fingerprint, score_day, train_detector
from include.anomaly.features import day_features, reference_profiles

CONFIG = DemoConfig()
REGIONS = region_names(8)
START = date(2026, 1, 1)


@cache
def values_of(region: str, day: date) -> np.ndarray:
    return region_day(CONFIG, region, day)[0]


def history(first: date, days: int, regions=REGIONS) -> dict:
    dates = [first + timedelta(days=i) for i in range(days)]
    return {(r, d): values_of(r, d) for r in regions for d in dates}


def test_features_do_not_depend_on_region_size() -> None:
    day = date(2026, 2, 3)
    shape = normal_profile(day)
    assert np.allclose(day_features(shape * 50, shape * 50), day_features(shape * 5000, shape * 5000))


def test_reference_profiles_split_weekdays_and_weekends() -> None:
    profiles = reference_profiles(history(START, 14, ["region-000"]))
    weekday, weekend = (np.asarray(profiles["region-000"][k]) for k in ("weekday", "weekend"))
    assert weekend.mean() < weekday.mean()


def test_training_refuses_data_from_its_own_or_later_days() -> None:
    with pytest.raises(ValueError, match="no look-ahead"):
        train_detector(history(START, 10), START, START + timedelta(days=9))


def test_scoring_a_day_before_the_training_window_ends_is_refused() -> None:
    detector = train_detector(history(START, 10), START, START + timedelta(days=10))
    with pytest.raises(ValueError, match="cannot score the earlier day"):
        score_day(detector, REGIONS, START + timedelta(days=5), np.ones((8, 24)))


def test_training_is_deterministic_and_fingerprinted() -> None:
    data = history(START, 10)
    a = train_detector(data, START, START + timedelta(days=10))
    b = train_detector(dict(reversed(list(data.items()))), START, START + timedelta(days=10))
    assert a.fingerprint == b.fingerprint == fingerprint(data)
    np.testing.assert_array_equal(a.training_scores, b.training_scores)
    changed = {**data, ("region-000", START): data[("region-000", START)] * 1.01}
    assert fingerprint(changed) != a.fingerprint


def test_state_round_trip() -> None:
    detector = train_detector(history(START, 10), START, START + timedelta(days=10))
    again = Detector.from_state(detector.forest, detector.state())
    assert again.threshold() == detector.threshold() and again.train_end == detector.train_end


def test_unknown_regions_are_set_aside() -> None:
    detector = train_detector(history(START, 10), START, START + timedelta(days=10))
    day = START + timedelta(days=10)
    frame, unknown = score_day(detector, ["region-000", "region-999"], day, np.vstack([np.ones(24), np.ones(24)]))
    assert list(frame.region) == ["region-000"] and unknown == ["region-999"]


def test_detects_injected_anomalies_far_better_than_the_baseline() -> None:
    """30 days scored, each with a model trained on the 28 days before it."""
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import f1_score

    truth, flagged, baseline = [], [], []
    for offset in range(30, 60):
        day = START + timedelta(days=offset)
        train = history(day - timedelta(days=28), 28)
        detector = train_detector(train, day - timedelta(days=28), day)
        values = np.vstack([values_of(r, day) for r in REGIONS])
        frame, _ = score_day(detector, REGIONS, day, values)
        flagged += list(frame.is_anomaly)
        raw = IsolationForest(random_state=0).fit(np.vstack(list(train.values())))
        baseline += list(raw.predict(values) == -1)
        truth += [region_day(CONFIG, r, day)[1] is not None for r in REGIONS]
    ours, theirs = f1_score(truth, flagged), f1_score(truth, baseline)
    assert ours >= 0.9 and ours >= theirs + 0.2, (ours, theirs)
