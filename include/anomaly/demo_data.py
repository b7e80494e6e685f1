"""Seeded demo data shaped like real regional load, with labelled anomalies (input contract:
DESIGN.md §2), in named scenarios that the detector is judged on.

Every scenario has, per region: a level and a shape of its own for **each day of the week**
(Saturday ≠ Sunday ≠ Monday), public holidays that behave like Sundays (the `holidays`
calendar of the scenario's country), a seasonal trend and a slow wander of the level, an
evening peak that moves with daylight through the year, a size drawn log-uniformly over three
orders of magnitude, autocorrelated (AR(1)) hourly noise, and a few regions noisier than the
rest. Anomalies are injected at `anomaly_rate` into every day, so training history is
contaminated as real history is. Kinds (`ANOMALY_KINDS`):
  spike         1-2 hours at 2.5-4x normal
  outage        3-6 hours near zero
  stuck_meter   the meter repeats one reading for the rest of the day (from hour 2-8)
  shifted_peak  the day's shape shifted by 4-6 hours
  level_up      the whole day 1.35-1.7x
  level_down    the whole day 0.45-0.7x
  noise_burst   6-12 hours of heavy noise (15-30 %)
Scenarios (`SCENARIOS`) differ in how strong each property is; `demo` is `make demo`'s.
A region-day is drawn from its own seed (scenario, seed, region, date), so a day is the same
whether generated alone or in a range. Output, where `layout` puts it: each day's landing file
(`load.csv` or `load.parquet`) and labels file (`region, date, is_anomaly, kind, holiday`).

CLI: python -m include.anomaly.demo_data --root DIR --start 2026-01-01 --end 2026-03-01 --regions 8
     [--scenario demo|weekly|seasonal_drift|holidays|noisy] [--seed N]
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from include.anomaly import layout
from include.anomaly.calendar import SUNDAY, is_holiday

ANOMALY_KINDS = ("spike", "outage", "stuck_meter", "shifted_peak", "level_up", "level_down", "noise_burst")
HOURS = np.arange(24)
EPOCH = date(2026, 1, 1)


@dataclass(frozen=True)
class Scenario:
    """How strong each property of the load is."""

    country: str = "US"  # holiday calendar ("" for none)
    weekday_levels: tuple[float, ...] = (1.0, 1.03, 1.04, 1.03, 0.97, 0.8, 0.68)  # Mon..Sun
    season_amplitude: float = 0.15  # winter-high annual cycle
    trend_per_month: float = 0.01  # growth on top of the season
    wander: float = 0.02  # slow deterministic level wander per region
    peak_drift_h: float = 1.5  # evening peak moves by ± this with daylight
    noise: float = 0.02  # hourly AR(1) noise (share of the value)
    noise_ar: float = 0.6
    noisy_share: float = 0.15  # share of regions with `noisy_factor` x the noise
    noisy_factor: float = 3.0
    anomaly_rate: float = 0.035


SCENARIOS: dict[str, Scenario] = {
    "demo": Scenario(),
    "weekly": Scenario(weekday_levels=(1.08, 1.0, 1.02, 1.05, 0.92, 0.7, 0.52), season_amplitude=0.05),
    # 1 + 0.2·cos moves the level ≈ 10 % a month in spring and autumn, plus 3 %/month growth.
    "seasonal_drift": Scenario(season_amplitude=0.2, trend_per_month=0.03, peak_drift_h=2.5, wander=0.03),
    "holidays": Scenario(country="DE", weekday_levels=(1.0, 1.02, 1.02, 1.02, 0.95, 0.75, 0.6)),
    "noisy": Scenario(noise=0.03, noise_ar=0.8, noisy_share=0.3, noisy_factor=2.5, anomaly_rate=0.045),
}


@dataclass(frozen=True)
class DemoConfig:
    seed: int = 7
    scenario: str = "demo"
    anomaly_rate: float | None = None  # None: the scenario's

    @property
    def world(self) -> Scenario:
        if self.scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {self.scenario!r}; known: {', '.join(SCENARIOS)}")
        world = SCENARIOS[self.scenario]
        return world if self.anomaly_rate is None else replace(world, anomaly_rate=self.anomaly_rate)


def region_names(count: int) -> list[str]:
    return [f"region-{i:03d}" for i in range(count)]


def _rng(config: DemoConfig, region: str, day: date, salt: str = "") -> np.random.Generator:
    key = f"{config.scenario}|{config.seed}|{region}|{day.isoformat()}|{salt}"
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little"))


@dataclass(frozen=True)
class RegionTraits:
    scale: float  # mean hourly load (MWh)
    noise: float
    phases: tuple[float, float]  # of the slow level wander
    morning_weight: float


def region_traits(config: DemoConfig, region: str) -> RegionTraits:
    """Fixed properties of a region: size log-uniform from 20 to 20,000, noise, wander phases."""
    rng = _rng(config, region, date(2000, 1, 1), "traits")
    world = config.world
    noisy = rng.random() < world.noisy_share
    return RegionTraits(
        scale=float(np.exp(rng.uniform(np.log(20), np.log(20_000)))),
        noise=world.noise * (world.noisy_factor if noisy else 1.0),
        phases=(float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0, 2 * np.pi))),
        morning_weight=float(rng.uniform(0.25, 0.45)),
    )


def _bump(center: float, width: float) -> np.ndarray:
    distance = (HOURS - center + 12) % 24 - 12  # circular: a late peak wraps past midnight
    return np.exp(-0.5 * (distance / width) ** 2)


def day_shape(kind: int, day: date, morning_weight: float = 0.35, peak_drift_h: float = 1.5) -> np.ndarray:
    """Relative load by hour (mean 1) for a kind of day (0 Monday … 6 Sunday/holiday)."""
    daylight = np.sin(2 * np.pi * (day.timetuple().tm_yday - 80) / 365.25)  # +1 in June
    evening_at = 18.5 + peak_drift_h * daylight
    morning_at, morning, evening = 7.5, morning_weight, 0.55
    if kind == 0:  # Monday: a sharper start
        morning *= 1.25
    elif kind == 4:  # Friday: an earlier, smaller evening
        evening, evening_at = 0.45, evening_at - 1.0
    elif kind == 5:  # Saturday: a late, broad morning and a late evening
        morning_at, morning, evening_at = 10.0, morning * 0.8, evening_at + 1.0
    elif kind == SUNDAY:  # Sunday: a midday hump, a small evening
        morning_at, morning, evening = 12.0, morning * 0.9, 0.4
    base = 0.7 + morning * _bump(morning_at, 2.0 if kind < 5 else 3.0) + evening * _bump(evening_at, 2.2)
    return base / base.mean()


def day_level(config: DemoConfig, traits: RegionTraits, kind: int, day: date) -> float:
    world = config.world
    t = (day - EPOCH).days
    season = 1.0 + world.season_amplitude * np.cos(2 * np.pi * (day.timetuple().tm_yday - 15) / 365.25)
    trend = (1.0 + world.trend_per_month) ** (t / 30.4)
    wander = 1.0 + world.wander * (
        0.6 * np.sin(2 * np.pi * t / 41 + traits.phases[0]) + 0.4 * np.sin(2 * np.pi * t / 23 + traits.phases[1])
    )
    return traits.scale * world.weekday_levels[kind] * season * trend * wander


def normal_day(config: DemoConfig, region: str, day: date) -> np.ndarray:
    """The region-day's expected load before noise and anomalies."""
    traits = region_traits(config, region)
    kind = SUNDAY if is_holiday(day, config.world.country) else day.weekday()
    shape = day_shape(kind, day, traits.morning_weight, config.world.peak_drift_h)
    return shape * day_level(config, traits, kind, day)


def _ar_noise(rng: np.random.Generator, sd: float, phi: float) -> np.ndarray:
    shocks = rng.normal(0, sd * np.sqrt(1 - phi**2), 24)
    noise = np.empty(24)
    noise[0] = rng.normal(0, sd)
    for hour in range(1, 24):
        noise[hour] = phi * noise[hour - 1] + shocks[hour]
    return noise


def inject(values: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """`values` with one anomaly of `kind`."""
    out = values.copy()
    if kind == "spike":
        start = int(rng.integers(0, 23))
        out[start : start + int(rng.integers(1, 3))] *= rng.uniform(2.5, 4.0)
    elif kind == "outage":
        start = int(rng.integers(0, 19))
        out[start : start + int(rng.integers(3, 7))] *= rng.uniform(0.0, 0.1)
    elif kind == "stuck_meter":
        start = int(rng.integers(2, 9))
        out[start:] = out[start]
    elif kind == "shifted_peak":
        out = np.roll(values, int(rng.choice([-6, -5, -4, 4, 5, 6])))
    elif kind == "level_up":
        out *= rng.uniform(1.35, 1.7)
    elif kind == "level_down":
        out *= rng.uniform(0.45, 0.7)
    elif kind == "noise_burst":
        start, length = int(rng.integers(0, 13)), int(rng.integers(6, 13))
        out[start : start + length] *= 1 + rng.normal(0, rng.uniform(0.15, 0.3), len(out[start : start + length]))
    else:
        raise ValueError(f"unknown anomaly kind {kind!r}")
    return out


def region_day(config: DemoConfig, region: str, day: date) -> tuple[np.ndarray, str | None]:
    """24 hourly values for one region-day, and the injected anomaly kind (None if normal)."""
    rng = _rng(config, region, day)
    world, traits = config.world, region_traits(config, region)
    values = normal_day(config, region, day) * (1 + _ar_noise(rng, traits.noise, world.noise_ar))
    kind = None
    if rng.random() < world.anomaly_rate:
        kind = str(rng.choice(ANOMALY_KINDS))
        values = inject(values, kind, rng)
    return np.round(np.maximum(values, 0.0), 3), kind


def day_frames(config: DemoConfig, regions: list[str], day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(hourly readings, labels) of one day for the given regions."""
    stamps = pd.date_range(pd.Timestamp(day, tz="UTC"), periods=24, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ")
    holiday = is_holiday(day, config.world.country)
    readings, labels = [], []
    for region in regions:
        values, kind = region_day(config, region, day)
        readings.append(pd.DataFrame({"timestamp": stamps, "region": region, "value": values}))
        labels.append(
            {
                "region": region,
                "date": day.isoformat(),
                "is_anomaly": kind is not None,
                "kind": kind or "",
                "holiday": holiday,
            }
        )
    return pd.concat(readings, ignore_index=True), pd.DataFrame(labels)


def write_days(root: Path, start: date, end: date, regions: list[str], config: DemoConfig, fmt: str = "csv") -> int:
    """Write every day in [start, end); returns the number of days written."""
    days = 0
    day = start
    while day < end:
        hourly, labels = day_frames(config, regions, day)
        landing = layout.landing_file(root, day, fmt)
        landing.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            hourly.to_parquet(landing, index=False)
        else:
            hourly.to_csv(landing, index=False)
        label_path = layout.labels_file(root, day)
        label_path.parent.mkdir(parents=True, exist_ok=True)
        labels.to_csv(label_path, index=False)
        day += timedelta(days=1)
        days += 1
    return days


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="data root (a local directory)")
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="day after the last one")
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default=DemoConfig.scenario)
    parser.add_argument("--seed", type=int, default=DemoConfig.seed)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error("--end must be after --start")
    config = DemoConfig(seed=args.seed, scenario=args.scenario)
    days = write_days(args.root, args.start, args.end, region_names(args.regions), config, args.format)
    print(
        f"wrote {days} day(s) x {args.regions} region(s) of scenario {args.scenario} (seed {args.seed}, "
        f"holidays: {config.world.country or 'none'}) under {args.root}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
