"""Training history: the scorable region-days of a range of days, read from the landing zone.

Days without a partition, or whose partition cannot be read, are skipped with a warning (a
model can be trained on a window with gaps; `registry.select_or_train` refuses windows with
too few days); bad rows inside a day are dropped exactly as the daily run drops them.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from include.anomaly import layout, settings
from include.anomaly.partition import PartitionError, read_partition, region_days

if TYPE_CHECKING:
    from include.anomaly.layout import DataPath

log = logging.getLogger(__name__)


def load_history(
    data_root: DataPath, start: date, end: date, max_missing_hours: int = 2, max_plausible_value: float | None = None
) -> dict[tuple[str, date], np.ndarray]:
    """{(region, day): 24 values} for every scorable region-day in [start, end); readings above
    `max_plausible_value` (default: the ANOMALY_MAX_PLAUSIBLE_VALUE setting) are bad rows."""
    bound = settings.max_plausible_value() if max_plausible_value is None else max_plausible_value
    history: dict[tuple[str, date], np.ndarray] = {}
    day = start
    while day < end:
        try:
            rows, _ = read_partition(layout.landing_partition(data_root, day), day, bound)
        except PartitionError as err:
            log.warning("training history: skipping %s: %s", day, err)
        else:
            days = region_days(rows, max_missing_hours=max_missing_hours)
            for region, values in zip(days.regions, days.values, strict=True):
                history[(region, day)] = values
        day += timedelta(days=1)
    return history
