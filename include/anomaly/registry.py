"""Point-in-time model selection through the MLflow model registry.

For a day D the pipeline uses the newest registered version trained only on days before D.
Training happens on a fixed cadence: a version's training window ends at an *anchor* day
(every `retrain_every_days` days from a fixed Monday), so which model scores D does not depend
on the order runs happen in — a backfill gives the answer the scheduled run gave. When the
newest usable version ends before anchor(D) (older than the cadence), a version is trained
on [anchor - window, anchor) and registered; `retrain=True` trains one on [D - window, D).
Each version is tagged with its training window, data fingerprint and size, and its run holds
the detector's state (reference profiles, training scores) next to the model. The `champion`
alias moves only to a version whose training window ends no earlier than the champion's.
Writes are serialised by a file lock next to a local SQLite store (and, under Airflow, by the
`model_registry` pool), so concurrent runs cannot register the same anchor twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from include.anomaly import mlflow_store
from include.anomaly.detector import STATE_VERSION, Detector, train_detector
from include.anomaly.settings import PipelineSettings, model_name

log = logging.getLogger(__name__)

EXPERIMENT = "hourly_anomaly_detection"
EPOCH = date(1970, 1, 5)  # a Monday: with a 7-day cadence, windows end on Mondays
STATE_ARTIFACT = "detector_state.json"

HistoryLoader = Callable[[date, date], dict[tuple[str, date], np.ndarray]]


def anchor_date(day: date, every_days: int) -> date:
    """The latest cadence day on or before `day`."""
    return day - timedelta(days=(day - EPOCH).days % every_days)


@dataclass(frozen=True)
class ModelChoice:
    name: str
    version: str
    train_start: date
    train_end: date
    trained_now: bool
    champion: bool


@contextlib.contextmanager
def registry_lock() -> Iterator[None]:
    """Exclusive across processes on this host when the store is a local SQLite file."""
    db = mlflow_store.sqlite_path(mlflow_store.tracking_uri())
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.parent / "registry.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _versions(client: Any, name: str) -> list[Any]:
    from mlflow.exceptions import MlflowException

    try:
        return list(client.search_model_versions(f"name='{name}'"))
    except MlflowException:
        return []


def _train_end(version: Any) -> date | None:
    value = version.tags.get("train_end")
    return date.fromisoformat(value) if value else None


def _rank(version: Any) -> tuple[date, int]:
    """Later training window first, then the later registration."""
    return _train_end(version) or date.min, int(version.version)


def newest_usable(versions: list[Any], day: date) -> Any | None:
    """The version trained on the latest window ending on or before `day` (ties: newest)."""
    usable = [v for v in versions if (end := _train_end(v)) is not None and end <= day]
    return max(usable, key=_rank, default=None)


def register(detector: Detector, name: str, params: dict[str, Any]) -> Any:
    """Log the detector in a run of the pipeline's experiment and register it as a version."""
    import mlflow
    from mlflow import MlflowClient

    experiment_id = mlflow_store.ensure_experiment(EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-until-{detector.train_end}"):
        mlflow.log_params({**params, "train_start": detector.train_start, "train_end": detector.train_end})
        mlflow.log_metrics(
            {
                "training_region_days": len(detector.calibration_scores) + detector.region_days_set_aside,
                "region_days_set_aside": detector.region_days_set_aside,
                "false_alarm_rate": detector.false_alarm_rate,
                "score_threshold": detector.threshold(),
            }
        )
        mlflow.log_dict(detector.state(), STATE_ARTIFACT)
        version = mlflow_store.log_sklearn_model(detector.forest, registered_model_name=name)
    client = MlflowClient()
    tags = {
        "train_start": detector.train_start.isoformat(),
        "train_end": detector.train_end.isoformat(),
        "data_fingerprint": detector.fingerprint,
        "training_region_days": str(len(detector.calibration_scores) + detector.region_days_set_aside),
        "region_days_set_aside": str(detector.region_days_set_aside),
        "false_alarm_rate": str(detector.false_alarm_rate),
        "score_threshold": repr(detector.threshold()),
        "holiday_country": detector.country,
        "state_version": str(STATE_VERSION),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    return client.get_model_version(name, version.version)


def load(name: str, version: Any) -> Detector:
    import mlflow

    forest = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
    state = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/{STATE_ARTIFACT}")
    return Detector.from_state(forest, state)


def _move_champion(client: Any, name: str, version: Any) -> bool:
    """Point `champion` at `version` unless the champion was trained on a later window."""
    from mlflow.exceptions import MlflowException

    try:
        current = client.get_model_version_by_alias(name, mlflow_store.CHAMPION_ALIAS)
    except MlflowException:
        current = None
    if current is not None and (_train_end(current), int(current.version)) > (
        _train_end(version),
        int(version.version),
    ):
        return False
    mlflow_store.set_champion(name, version.version)
    return True


def select_or_train(
    day: date,
    load_history: HistoryLoader,
    *,
    window_days: int = 28,
    retrain_every_days: int = 7,
    min_training_days: int = 14,
    retrain: bool = False,
    n_estimators: int = 200,
) -> tuple[Detector, ModelChoice]:
    """The detector for `day` (trained only on days before it), training one if needed."""
    from mlflow import MlflowClient

    mlflow_store.configure()
    name, client = model_name(), MlflowClient()
    settings = PipelineSettings.from_env()
    with registry_lock():
        chosen = None if retrain else newest_usable(_versions(client, name), day)
        anchor = day if retrain else anchor_date(day, retrain_every_days)
        trained_now = chosen is None or _train_end(chosen) < anchor
        if trained_now:
            start = anchor - timedelta(days=window_days)
            history = load_history(start, anchor)
            days_found = len({d for _, d in history})
            if days_found < min_training_days:
                raise ValueError(
                    f"not enough history to train a model for {day}: {days_found} day(s) with data in "
                    f"[{start}, {anchor}), at least {min_training_days} needed"
                )
            detector = train_detector(
                history,
                start,
                anchor,
                country=settings.holiday_country,
                false_alarm_rate=settings.false_alarm_rate,
                n_estimators=n_estimators,
            )
            params = {
                "window_days": window_days,
                "retrain_every_days": retrain_every_days,
                "n_estimators": n_estimators,
            }
            chosen = register(detector, name, params)
            log.info("registered %s version %s trained on [%s, %s)", name, chosen.version, start, anchor)
        else:
            detector = load(name, chosen)
        champion = _move_champion(client, name, chosen)
    return detector, ModelChoice(
        name=name,
        version=str(chosen.version),
        train_start=detector.train_start,
        train_end=detector.train_end,
        trained_now=trained_now,
        champion=champion,
    )
