"""The evaluation's picture: flags against labels for every region and day, and the false-alarm
rate per day of the week (model next to baseline) — where the detector fails, at a glance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

OUTCOME_COLOURS = {"normal": "#f2f2f2", "caught": "#2e7d32", "missed": "#c62828", "false alarm": "#f9a825"}


def outcome_grid(outcomes: dict[str, list[Any]]) -> tuple[list[str], list[str], np.ndarray]:
    """(regions, dates, grid of outcome codes 0..3 in OUTCOME_COLOURS order)."""
    regions, dates = sorted(set(outcomes["region"])), sorted(set(outcomes["date"]))
    grid = np.zeros((len(regions), len(dates)), dtype=int)
    for region, day, kind, flagged in zip(
        outcomes["region"], outcomes["date"], outcomes["kind"], outcomes["flagged"], strict=True
    ):
        code = (1 if flagged else 2) if kind else (3 if flagged else 0)
        grid[regions.index(region), dates.index(day)] = code
    return regions, dates, grid


def write_figure(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    regions, dates, grid = outcome_grid(report["outcomes"])
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(max(8, len(dates) * 0.18), 3 + len(regions) * 0.22 + 3), gridspec_kw={"height_ratios": [2, 1]}
    )
    top.imshow(
        grid,
        aspect="auto",
        interpolation="nearest",
        cmap=ListedColormap(list(OUTCOME_COLOURS.values())),
        vmin=0,
        vmax=3,
    )
    top.set_yticks(range(len(regions)), regions, fontsize=6)
    step = max(1, len(dates) // 15)
    top.set_xticks(range(0, len(dates), step), dates[::step], fontsize=6, rotation=45, ha="right")
    model = report["model"]
    top.set_title(
        f"Flags vs labels, {report['start']} to {report['end']}: F1 {model['f1']:.3f} "
        f"(baseline {report['baseline']['f1']:.3f}), false alarms {100 * model['false_alarm_rate']:.2f} %",
        fontsize=9,
    )
    top.legend(
        handles=[Patch(color=c, label=n) for n, c in OUTCOME_COLOURS.items()], fontsize=6, loc="upper right", ncols=4
    )
    days = list(model["false_alarm_rate_by_day"])
    width = 0.4
    for offset, (name, colour) in enumerate((("model", "#1565c0"), ("baseline", "#9e9e9e"))):
        rates = [100 * report[name]["false_alarm_rate_by_day"].get(d, 0.0) for d in days]
        bottom.bar(np.arange(len(days)) + (offset - 0.5) * width, rates, width, label=name, color=colour)
    bottom.set_xticks(range(len(days)), days, fontsize=7)
    bottom.set_ylabel("false alarms (% of normal days)", fontsize=7)
    bottom.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
