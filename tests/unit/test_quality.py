"""What the detection targets allow at all: the ideal detector's figures, against scipy's binomial."""

from __future__ import annotations

import pytest
from scipy.stats import binom

from include.anomaly.quality import TARGETS, ideal_detector


def test_an_ideal_detector_at_one_percent_cannot_reach_f1_0_9_on_3_5_percent_anomalies() -> None:
    kinds = ["spike"] * 35 + [""] * 965
    figures = ideal_detector(kinds, ["Mon"] * 1000, 0.01)
    assert figures["f1"] == pytest.approx(70 / (70 + 9.65))
    assert figures["f1"] < TARGETS["f1"]


def test_the_weekday_bound_chance_is_the_product_of_each_days_binomial_tail() -> None:
    day_kinds = ["Mon"] * 132 + ["Sat"] * 264 + ["holiday"] * 10
    kinds = [""] * len(day_kinds)
    allowed = {"Mon": 1, "Sat": 3, "holiday": 0}  # the most false alarms that stay within 1.5 %
    expected = 1.0
    for day, n in (("Mon", 132), ("Sat", 264), ("holiday", 10)):
        assert (allowed[day] + 1) / n > TARGETS["false_alarm_rate_per_day"] >= allowed[day] / n
        expected *= binom.cdf(allowed[day], n, 0.01)
    assert ideal_detector(kinds, day_kinds, 0.01)["weekday_bound_chance"] == pytest.approx(expected)


def test_anomalous_days_do_not_count_towards_a_weekdays_normal_days() -> None:
    with_anomalies = ideal_detector(["", "outage"] * 100, ["Tue"] * 200, 0.01)
    without = ideal_detector([""] * 100, ["Tue"] * 100, 0.01)
    assert with_anomalies["weekday_bound_chance"] == pytest.approx(without["weekday_bound_chance"])
    assert without["f1"] == 0.0
