"""Pure parts of the pipeline: which day a run processes, sharding, evaluation arithmetic and document."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from include.anomaly.evaluation import evaluation_event, quality
from include.anomaly.pipeline import regions_to_score, resolve_day, shards

RUN_AFTER = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("param", "interval_start", "expected"),
    [
        ("2026-01-15", datetime(2026, 3, 1, tzinfo=UTC), date(2026, 1, 15)),  # the param wins
        (None, datetime(2026, 3, 1, tzinfo=UTC), date(2026, 3, 1)),  # scheduled / backfill: the interval
        ("", datetime(2026, 2, 27, tzinfo=UTC), date(2026, 2, 27)),
        (None, None, date(2026, 3, 1)),  # manual without logical date: yesterday of run_after
    ],
)
def test_the_processed_day(param, interval_start, expected) -> None:
    assert resolve_day(param, interval_start, RUN_AFTER) == expected


def test_shards_cover_every_region_once() -> None:
    regions = [f"r{i}" for i in range(11)]
    assert shards(regions, 4) == [regions[0:4], regions[4:8], regions[8:11]]
    with pytest.raises(ValueError, match="at least 1"):
        shards(regions, 0)


def test_quality_figures() -> None:
    truth = [True, True, False, False, True]
    flagged = [True, False, True, False, True]
    q = quality(truth, flagged)
    assert (q["tp"], q["fp"], q["fn"]) == (2, 1, 1)
    assert q["precision"] == pytest.approx(2 / 3) and q["recall"] == pytest.approx(2 / 3)
    assert q["f1"] == pytest.approx(2 / 3)
    assert quality([False], [False])["f1"] == 0.0


def test_regions_to_score_account_for_silent_model_regions() -> None:
    found = {"regions": ["b", "a"], "unscorable": {"c": "5 of 24 hours missing"}}
    assert regions_to_score(found, ["a", "b", "c", "d", "e"], []) == ["b", "a", "c", "d", "e"]
    assert regions_to_score(found, ["a", "d"], ["a", "b", "c"]) == ["b", "a", "c"], "requested regions only"


def test_the_evaluation_document_names_the_model_and_its_registry_entry(monkeypatch) -> None:
    monkeypatch.setenv("ANOMALY_MODEL_NAME", "registry-name")
    figures = {"precision": 1.0, "recall": 0.5, "f1": 0.667, "false_alarm_rate": 0.0}
    model = {**figures, "tp": 1, "fp": 0, "fn": 1, "recall_by_kind": {"spike": 0.5}, "false_alarm_rate_by_day": {}}
    report = {
        "start": "2026-02-01",
        "end": "2026-02-02",
        "model_versions": ["3", "4"],
        "region_days": 2,
        "model": model,
        "baseline": figures,
    }
    event = evaluation_event(report, "run-1", datetime(2026, 2, 3, tzinfo=UTC))
    names = (event.model_name, event.model_version, event.registered_model_name)
    assert names == ("IsolationForest", "3,4", "registry-name")
