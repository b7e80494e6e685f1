"""Detection quality of one demo scenario, measured through the pipeline's own steps.

`run_scenario` writes a scenario's demo data (a seed the caller draws) under a fresh data root,
then for every evaluated day runs extract → choose_model → detect → persist exactly as the
DAG wires them (real MLflow registry, the anomalies index), and scores the flags with
`evaluation.evaluate` (the same report `make evaluate` prints, baseline included). The test
suite runs a small sweep; `benchmarks/bench_detection.py` the full one.

`ideal_detector` says what the targets allow at all: the F1 and the chance of meeting the
per-weekday bound of a detector that finds every anomaly and whose false alarms fall exactly at
its calibrated rate, on the same region-days. At 1 % and 3.5 % anomalous region-days its F1 is
0.88, and with ~130 normal region-days per weekday two false alarms already exceed 1.5 %.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SHARD_SIZE = 50  # the DAG's default `shard_size` param
TARGETS = {"f1": 0.90, "recall_per_kind": 0.75, "false_alarm_rate_per_day": 0.015, "gain_over_baseline": 0.3}


@dataclass(frozen=True)
class Sweep:
    scenario: str
    seed: int
    regions: int = 16
    days: int = 60
    first_day: date = date(2026, 3, 2)
    history_days: int = 35  # before the first evaluated day: one training window and a week
    false_alarm_rate: float | None = None  # None: the models' own (ANOMALY_FALSE_ALARM_RATE)


def run_scenario(sweep: Sweep, root: Path) -> dict[str, Any]:
    """The evaluation report of `sweep`, per region-day outcomes included (its data and outputs
    under `root`)."""
    from include.anomaly import pipeline
    from include.anomaly.demo_data import DemoConfig, region_names, write_days
    from include.anomaly.evaluation import evaluate

    config = DemoConfig(seed=sweep.seed, scenario=sweep.scenario)
    end = sweep.first_day + timedelta(days=sweep.days)
    write_days(root, sweep.first_day - timedelta(days=sweep.history_days), end, region_names(sweep.regions), config)
    day = sweep.first_day
    with _scenario_settings(sweep, config.world.country):
        while day < end:
            run_id = f"quality__{sweep.scenario}__{sweep.seed}__{day}__{uuid.uuid4().hex[:6]}"
            found = pipeline.extract(day, None, root, run_id)
            model = pipeline.choose_model(day, False, root)
            regions = pipeline.regions_to_score(found, model["regions"], None)
            shards = pipeline.shards(regions, SHARD_SIZE)
            staged = found["staged"]
            outputs = [pipeline.detect(day, shard, model, sweep.false_alarm_rate, staged, run_id) for shard in shards]
            pipeline.persist(day, outputs, root, staged)
            day += timedelta(days=1)
        report = evaluate(root, sweep.first_day, end)
    return {"scenario": sweep.scenario, "seed": sweep.seed, "country": config.world.country, **report}


@contextlib.contextmanager
def _scenario_settings(sweep: Sweep, country: str) -> Iterator[None]:
    """A registered model of its own for the sweep (versions of another scenario must not be
    reused) and the scenario's holiday calendar; the caller's settings come back afterwards."""
    wanted = {
        "ANOMALY_MODEL_NAME": f"quality-{sweep.scenario}-{sweep.seed}-{uuid.uuid4().hex[:6]}",
        "ANOMALY_HOLIDAY_COUNTRY": country,
    }
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def misses(report: dict[str, Any]) -> list[str]:
    """The targets a scenario's report misses, in words (empty: all met)."""
    model, baseline = report["model"], report["baseline"]
    found = []
    if model["f1"] < TARGETS["f1"]:
        found.append(f"F1 {model['f1']:.3f} < {TARGETS['f1']}")
    if model["f1"] < baseline["f1"] + TARGETS["gain_over_baseline"]:
        found.append(f"F1 {model['f1']:.3f} < baseline {baseline['f1']:.3f} + {TARGETS['gain_over_baseline']}")
    for kind, recall in model["recall_by_kind"].items():
        if recall < TARGETS["recall_per_kind"]:
            found.append(f"recall of {kind} {recall:.2f} < {TARGETS['recall_per_kind']}")
    for day, rate in model["false_alarm_rate_by_day"].items():
        if rate > TARGETS["false_alarm_rate_per_day"]:
            found.append(f"false alarms on {day} {100 * rate:.1f} % > {100 * TARGETS['false_alarm_rate_per_day']} %")
    return found


def ideal_detector(kinds: list[str], day_kinds: list[str], rate: float) -> dict[str, float]:
    """Expected figures of a detector with perfect recall and false alarms independent at `rate`
    on the region-days of a report (`outcomes`' kind, "" for normal, and day_kind): its F1, and
    the chance that no day of the week (nor holidays) exceeds TARGETS' false-alarm bound."""
    anomalies = sum(1 for kind in kinds if kind)
    normal: dict[str, int] = {}
    for kind, day_kind in zip(kinds, day_kinds, strict=True):
        if not kind:
            normal[day_kind] = normal.get(day_kind, 0) + 1
    false_alarms = rate * sum(normal.values())
    f1 = 2 * anomalies / (2 * anomalies + false_alarms) if anomalies else 0.0
    bound = TARGETS["false_alarm_rate_per_day"]
    chance = math.prod(_binomial_cdf(math.floor(bound * n + 1e-9), n, rate) for n in normal.values())
    return {"f1": f1, "weekday_bound_chance": chance}


def _binomial_cdf(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(min(k, n) + 1))
