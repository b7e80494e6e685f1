"""The steps of the daily pipeline as plain functions of plain values; the DAG only wires them.

Which day a run processes is decided here, the same way for every kind of run: the `date`
param when given; else the run's data interval (scheduled and backfill runs: the UTC day the
interval starts); else, for a manual run without a logical date, yesterday (UTC) relative to
when the run was asked for. Data lives under `DATA_ROOT` (an `ObjectStoragePath` URI; default
`file://<STATE_DIR>/data`).
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from include.anomaly.partition import PartitionSummary
from include.state import state_dir

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from include.anomaly.layout import DataPath


class ExtractReport(PartitionSummary):
    """What `extract` found: the partition's report, the regions to score and those that cannot
    be, and (`staged`, a `layout.Staged.reference`) where their region-days were staged."""

    regions: list[str]
    unscorable: dict[str, str]
    staged: dict[str, str]


class ModelReport(TypedDict):
    """The registry version `choose_model` picked for the day, and what it knows."""

    name: str  # the registered model's name
    version: str
    train_start: str
    train_end: str
    trained_now: bool
    champion: bool
    regions: list[str]  # the regions it was trained on
    false_alarm_rate: float  # the rate its threshold was calibrated to


class DetectOutput(TypedDict):
    """One detect shard's result."""

    rows: list[dict[str, Any]]  # one per scored region (persist.COLUMNS)
    unscorable: dict[str, str]  # region -> why it was not scored
    imputed_hours: int  # scored hours that were filled in by interpolation
    false_alarm_rate: float
    score_threshold: float


class PersistReport(TypedDict):
    """Where the day's rows went: the partition file, and the index (or the spool)."""

    path: str
    rows: int  # rows this run wrote
    partition_rows: int  # rows of the day now in the file
    anomalies: int
    deleted: list[str]  # regions whose rows the run removed
    indexed: int
    spooled: int


log = logging.getLogger(__name__)


def data_root() -> ObjectStoragePath:
    from airflow.sdk import ObjectStoragePath

    default = (state_dir() / "data").resolve().as_uri()
    return ObjectStoragePath(os.environ.get("DATA_ROOT", default))


def resolve_day(param_date: str | None, data_interval_start: datetime | None, run_after: datetime) -> date:
    if param_date:
        return date.fromisoformat(param_date)
    if data_interval_start is not None:
        return data_interval_start.date()
    return (run_after - timedelta(days=1)).date()


def extract(day: date, regions: list[str] | None, root: DataPath, run_id: str) -> ExtractReport:
    """Validate the day's partition and stage its region-days for the detect shards; returns
    the validation report, the regions to score and, under `staged`, the staged files'
    locations (`layout.Staged.reference`) that `detect` and `persist` take from it.

    Bad data fails the task at once (AirflowFailException: retrying reads the same bytes); a
    partition that is missing or holds no data file yet fails normally, so the task's retries
    give late data time to land.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from include.anomaly import layout
    from include.anomaly.features import RECENT_DAYS
    from include.anomaly.history import load_history
    from include.anomaly.partition import PartitionError, PartitionMissing, read_partition, region_days
    from include.anomaly.settings import PipelineSettings
    from include.anomaly.staging import write_recent_days, write_region_days

    partition = layout.landing_partition(root, day)
    settings = PipelineSettings.from_env()
    try:
        rows, report = read_partition(partition, day, settings.max_plausible_value)
    except PartitionMissing:
        raise
    except PartitionError as err:
        raise AirflowFailException(str(err)) from err
    found = region_days(rows, regions or None, settings.max_missing_hours)
    if not found.regions:
        problems = "; ".join(f"{r}: {why}" for r, why in sorted(found.unscorable.items())) or "no rows"
        bad = ", ".join(f"{n} {reason}" for reason, n in sorted(report.bad_rows.items())) or "none"
        raise AirflowFailException(f"{partition}: no region-day of {day} can be scored ({problems}); bad rows: {bad}")
    staged = layout.staged(root, day, run_id)
    write_region_days(staged.region_days, found)
    recent = load_history(
        root, day - timedelta(days=RECENT_DAYS), day, settings.max_missing_hours, settings.max_plausible_value
    )
    write_recent_days(staged.recent_days, {key: v for key, v in recent.items() if key[0] in set(found.regions)})
    log.info("%s: %d rows read, %d valid, bad rows %s", partition, report.rows_read, report.rows_valid, report.bad_rows)
    for region, why in sorted(found.unscorable.items()):
        log.warning("%s: region %s cannot be scored: %s", partition, region, why)
    return {
        **report.as_dict(),
        "regions": found.regions,
        "unscorable": found.unscorable,
        "staged": staged.reference(),
    }


def choose_model(day: date, retrain: bool, root: DataPath) -> ModelReport:
    from include.anomaly.history import load_history
    from include.anomaly.registry import select_or_train
    from include.anomaly.settings import PipelineSettings

    settings = PipelineSettings.from_env()
    detector, choice = select_or_train(
        day,
        lambda start, end: load_history(root, start, end, settings.max_missing_hours, settings.max_plausible_value),
        window_days=settings.training_window_days,
        retrain_every_days=settings.retrain_every_days,
        min_training_days=settings.min_training_days,
        retrain=retrain,
    )
    return {
        "name": choice.name,
        "version": choice.version,
        "train_start": choice.train_start.isoformat(),
        "train_end": choice.train_end.isoformat(),
        "trained_now": choice.trained_now,
        "champion": choice.champion,
        "regions": sorted(detector.references),
        "false_alarm_rate": detector.false_alarm_rate,
    }


def regions_to_score(found: ExtractReport, model_regions: list[str], requested: list[str] | None) -> list[str]:
    """Every region the detect step must account for: the scorable ones, the unscorable ones
    and, when no regions were requested, the model's regions that sent no data at all, so
    `details.failed_predictions` counts a region that went silent instead of forgetting it."""
    regions = list(found["regions"]) + sorted(found["unscorable"])
    if not requested:
        regions += sorted(set(model_regions) - set(regions))
    return regions


def shards(regions: list[str], shard_size: int) -> list[list[str]]:
    if shard_size < 1:
        raise ValueError(f"shard size must be at least 1, got {shard_size}")
    return [regions[i : i + shard_size] for i in range(0, len(regions), shard_size)]


def detect(
    day: date,
    regions: list[str],
    model: ModelReport,
    false_alarm_rate: float | None,
    staged: dict[str, str],
    run_id: str,
) -> DetectOutput:
    """Score `regions` of `day` with the chosen registry version against each region's recent days,
    read from the files `extract` staged (`staged`: its reference); rows, what could not be scored,
    and how many of the scored hours were filled in by interpolation (`imputed_hours`: a score
    resting on them deserves a look). `false_alarm_rate` None: the model's calibrated threshold."""
    from mlflow import MlflowClient

    from include.anomaly import layout, mlflow_store, registry
    from include.anomaly.detector import score_day
    from include.anomaly.staging import StagedDataMissing, read_recent_days, read_region_days

    files = layout.Staged.from_reference(staged)
    try:
        found = read_region_days(files.region_days, regions)
        recent = read_recent_days(files.recent_days, regions)
    except StagedDataMissing as err:
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(str(err)) from err
    mlflow_store.configure()
    version = MlflowClient().get_model_version(model["name"], model["version"])
    detector = registry.load(model["name"], version)
    frame, unknown = score_day(detector, found.regions, day, found.values, recent, false_alarm_rate)
    frame = frame.assign(model_name=model["name"], model_version=str(model["version"]), run_id=run_id)
    unscorable = {**found.unscorable, **dict.fromkeys(unknown, "region not in the model's training data")}
    rate = detector.false_alarm_rate if false_alarm_rate is None else false_alarm_rate
    return {
        "rows": frame.to_dict("records"),
        "unscorable": unscorable,
        "imputed_hours": sum(found.imputed_hours.get(region, 0) for region in frame["region"]),
        "false_alarm_rate": rate,
        "score_threshold": detector.threshold(rate),
    }


def persist(
    day: date,
    shard_outputs: list[DetectOutput],
    root: DataPath,
    staged: dict[str, str],
    regions: list[str] | None = None,
) -> PersistReport:
    """Write the day's rows (only `regions`' rows when a subset is given, else the whole day)
    to the partition and the index; documents of regions the run no longer has are deleted.
    Then the files `extract` staged (`staged`: its reference) are removed."""
    import pandas as pd

    from include.anomaly import layout
    from include.anomaly.index import anomalies_client, anomalies_index, anomalies_shipper
    from include.anomaly.persist import (
        COLUMNS,
        delete_actions,
        index_actions,
        indexed_regions,
        stale_regions,
        write_partition,
    )
    from include.anomaly.staging import remove_staged

    index = anomalies_index()
    rows = pd.DataFrame([r for out in shard_outputs for r in out["rows"]], columns=list(COLUMNS))
    written = write_partition(root, day, rows, regions)
    try:
        indexed = indexed_regions(anomalies_client(), index, day)
    except Exception as err:  # the cluster is away: the previous file tells what to delete
        log.warning("could not list the day's documents in %s (%s)", index, err)
        indexed = set()
    stale = stale_regions(written, indexed, regions)
    actions = index_actions(rows, written.version_ms, index=index)
    actions += delete_actions(stale, day, written.version_ms, index=index)
    shipped = anomalies_shipper().ship(actions)
    remove_staged(layout.Staged.from_reference(staged))
    return {
        "path": str(written.path),
        "rows": len(rows),
        "partition_rows": len(written.rows),
        "anomalies": int(rows["is_anomaly"].sum()),
        "deleted": sorted(stale),
        "indexed": shipped.delivered,
        "spooled": shipped.spooled,
    }
