"""Deterministic demo data: hourly regional load with labelled, injected anomalies.

Realistic shape (per region): a morning and an evening peak, lower weekends, an annual
season (winter high), a slow growth trend, a regional scale (big and small regions), and
noise. About `anomaly_rate` of region-days carry one injected anomaly of a known kind:
  spike         a few hours far above normal
  dip           an outage: several hours near zero
  flatline      a stuck meter: the same value all day
  shifted_peak  the evening peak several hours late
  level_shift   the whole day scaled up or down
Every region-day is drawn from its own seed (seed, region, date), so a day is the same whether
generated alone or in a long range. Output follows the input contract (DESIGN.md §2):
`<root>/landing/hourly/date=YYYY-MM-DD/load.csv` (or `.parquet`) with `timestamp, region,
value`, and `<root>/labels/date=YYYY-MM-DD/labels.csv` with `region, date, is_anomaly, kind`.

CLI: python -m include.anomaly.demo_data --root DIR --start 2026-01-01 --end 2026-03-01 --regions 8
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ANOMALY_KINDS = ("spike", "dip", "flatline", "shifted_peak", "level_shift")
HOURS = np.arange(24)


@dataclass(frozen=True)
class DemoConfig:
    seed: int = 7
    anomaly_rate: float = 0.06
    noise: float = 0.03


def region_names(count: int) -> list[str]:
    return [f"region-{i:03d}" for i in range(count)]


def _rng(config: DemoConfig, region: str, day: date, salt: str = "") -> np.random.Generator:
    digest = hashlib.sha256(f"{config.seed}|{region}|{day.isoformat()}|{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def region_scale(config: DemoConfig, region: str) -> float:
    """Mean hourly load of a region (MWh): log-uniform from 50 to 5,000."""
    rng = _rng(config, region, date(2000, 1, 1), "scale")
    return float(np.exp(rng.uniform(np.log(50), np.log(5000))))


def normal_profile(day: date, peak_shift_h: float = 0.0) -> np.ndarray:
    """Relative load by hour (mean ≈ 1): night trough, morning and evening peaks."""
    morning = 0.35 * np.exp(-0.5 * ((HOURS - 8.0) / 1.8) ** 2)
    evening = 0.55 * np.exp(-0.5 * ((HOURS - 19.0 - peak_shift_h) / 2.2) ** 2)
    base = 0.7 + morning + evening
    weekend = 0.85 if day.weekday() >= 5 else 1.0
    season = 1.0 + 0.15 * np.cos(2 * np.pi * (day.timetuple().tm_yday - 15) / 365.25)
    trend = 1.0 + 0.0002 * (day - date(2026, 1, 1)).days
    return base / base.mean() * weekend * season * trend


def _inject(values: np.ndarray, kind: str, rng: np.random.Generator, day: date) -> np.ndarray:
    out = values.copy()
    if kind == "spike":
        start = int(rng.integers(0, 21))
        out[start : start + int(rng.integers(2, 4))] *= rng.uniform(2.5, 4.0)
    elif kind == "dip":
        start = int(rng.integers(0, 18))
        out[start : start + int(rng.integers(4, 7))] *= rng.uniform(0.0, 0.1)
    elif kind == "flatline":
        out[:] = values.mean() * rng.uniform(0.9, 1.1)
    elif kind == "shifted_peak":
        scale = values.mean() / normal_profile(day).mean()
        out = normal_profile(day, peak_shift_h=rng.choice([-7.0, 5.0])) * scale
    elif kind == "level_shift":
        out *= rng.choice([rng.uniform(0.45, 0.6), rng.uniform(1.6, 1.9)])
    return out


def region_day(config: DemoConfig, region: str, day: date) -> tuple[np.ndarray, str | None]:
    """24 hourly values for one region-day, and the injected anomaly kind (None if normal)."""
    rng = _rng(config, region, day)
    values = normal_profile(day) * region_scale(config, region)
    values = values * (1 + rng.normal(0, config.noise, 24))
    kind = None
    if rng.random() < config.anomaly_rate:
        kind = str(rng.choice(ANOMALY_KINDS))
        values = _inject(values, kind, rng, day)
    return np.round(np.maximum(values, 0.0), 3), kind


def day_frames(config: DemoConfig, regions: list[str], day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(hourly readings, labels) of one day for the given regions."""
    stamps = pd.date_range(pd.Timestamp(day, tz="UTC"), periods=24, freq="h")
    readings, labels = [], []
    for region in regions:
        values, kind = region_day(config, region, day)
        readings.append(pd.DataFrame({"timestamp": stamps, "region": region, "value": values}))
        labels.append({"region": region, "date": day.isoformat(), "is_anomaly": kind is not None, "kind": kind or ""})
    hourly = pd.concat(readings, ignore_index=True)
    hourly["timestamp"] = hourly["timestamp"].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return hourly, pd.DataFrame(labels)


def write_days(root: Path, start: date, end: date, regions: list[str], config: DemoConfig, fmt: str = "csv") -> int:
    """Write every day in [start, end); returns the number of days written."""
    days = 0
    day = start
    while day < end:
        hourly, labels = day_frames(config, regions, day)
        landing = root / "landing" / "hourly" / f"date={day.isoformat()}"
        landing.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            hourly.to_parquet(landing / "load.parquet", index=False)
        else:
            hourly.to_csv(landing / "load.csv", index=False)
        label_dir = root / "labels" / f"date={day.isoformat()}"
        label_dir.mkdir(parents=True, exist_ok=True)
        labels.to_csv(label_dir / "labels.csv", index=False)
        day += timedelta(days=1)
        days += 1
    return days


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="data root (a local directory)")
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="day after the last one")
    parser.add_argument("--regions", type=int, default=8)
    parser.add_argument("--seed", type=int, default=DemoConfig.seed)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error("--end must be after --start")
    days = write_days(
        args.root, args.start, args.end, region_names(args.regions), DemoConfig(seed=args.seed), args.format
    )
    print(f"wrote {days} day(s) x {args.regions} region(s) under {args.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
