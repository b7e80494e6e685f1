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

How a version was trained is in its tags: `trigger` = `cadence` | `retrain` (and, for a
retrain, `retrain_day`). Point-in-time selection uses cadence versions only (versions without
a `trigger` tag, registered before it existed, count as cadence), so `retrain=True` on day D
never changes the model a re-run or backfill of another day gets. Retrain versions are only
ever chosen by a run that asks retrain for that exact day: a second retrain of D reuses the
retrain version of D's window.

Against an MLflow tracking server the file lock does nothing, so concurrent runs may each
train the same window. After registering, a run lists the versions with the same training
window and trigger (waiting briefly for versions still being tagged): the lowest version
number wins, a loser deletes its own version and uses the winner, and `champion` is set from
the winner. So one version per window and one champion remain.

A registry read that fails (server error, connection error, locked database, bad name) raises
`RegistryError` naming the store URI and the operation; only "registered model does not exist"
and a missing `champion` alias count as "nothing there yet" — a failed read never leads to
training a new version nor to moving `champion` backwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from include.anomaly import mlflow_store
from include.anomaly.detector import STATE_VERSION, Detector, train_detector
from include.anomaly.settings import PipelineSettings, model_name

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

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


TRIGGER_TAG = "trigger"
CADENCE, RETRAIN = "cadence", "retrain"
# A version without a `trigger` tag created this recently may still be being tagged by its run.
PENDING_MS = 120_000
SETTLE_SECONDS = 30.0


class RegistryError(RuntimeError):
    """A model registry operation failed; never to be read as "no versions"."""


def _fail(operation: str, name: str, exc: BaseException) -> RegistryError:
    return RegistryError(
        f"MLflow model registry: {operation} for model {name!r} failed at {mlflow_store.tracking_uri()}: "
        f"{type(exc).__name__}: {exc}"
    )


def _missing(exc: BaseException) -> bool:
    return getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def _versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    """All versions of `name`; [] only when the registered model does not exist yet."""
    try:
        return list(client.search_model_versions(f"name='{name}'"))
    except Exception as exc:
        if _missing(exc):
            return []
        raise _fail("search_model_versions", name, exc) from exc


def _trigger(version: ModelVersion) -> str:
    return version.tags.get(TRIGGER_TAG, CADENCE)


def _settled_versions(client: MlflowClient, name: str) -> list[ModelVersion]:
    """Versions, after waiting (up to SETTLE_SECONDS) for recent ones still missing `trigger`."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        versions = _versions(client, name)
        now_ms = time.time() * 1000
        pending = [
            v for v in versions if TRIGGER_TAG not in v.tags and now_ms - (v.creation_timestamp or 0) < PENDING_MS
        ]
        if not pending or time.monotonic() > deadline:
            return versions
        time.sleep(0.25)


def _window(version: ModelVersion) -> tuple[str | None, str | None, str]:
    return version.tags.get("train_start"), version.tags.get("train_end"), _trigger(version)


def _train_end(version: ModelVersion) -> date | None:
    value = version.tags.get("train_end")
    return date.fromisoformat(value) if value else None


def _rank(version: ModelVersion) -> tuple[date, int]:
    """Later training window first, then the earlier registration (the one dedupe keeps)."""
    return _train_end(version) or date.min, -int(version.version)


def newest_usable(versions: list[ModelVersion], day: date) -> ModelVersion | None:
    """The cadence version trained on the latest window ending on or before `day` (ties: the
    lowest version number). Retrain versions are never chosen here."""
    usable = [v for v in versions if _trigger(v) == CADENCE and (end := _train_end(v)) is not None and end <= day]
    return max(usable, key=_rank, default=None)


def retrain_version(versions: list[ModelVersion], day: date, start: date) -> ModelVersion | None:
    """The retrain version of `day` trained on [start, day), if one was registered."""
    mine = [
        v
        for v in versions
        if _trigger(v) == RETRAIN
        and v.tags.get("retrain_day") == day.isoformat()
        and _window(v)[:2] == (start.isoformat(), day.isoformat())
    ]
    return min(mine, key=lambda v: int(v.version), default=None)


def _dedupe(client: MlflowClient, name: str, version: ModelVersion) -> ModelVersion:
    """The winner among versions of `version`'s window and trigger: the lowest number. A loser
    deletes its own version."""
    group = [v for v in _settled_versions(client, name) if _window(v) == _window(version)]
    winner = min(group, key=lambda v: int(v.version), default=version)
    if int(winner.version) < int(version.version):
        log.info("version %s of %s duplicates version %s: deleting it", version.version, name, winner.version)
        try:
            client.delete_model_version(name, version.version)
        except Exception as exc:
            raise _fail(f"delete_model_version {version.version}", name, exc) from exc
        return winner
    return version


def register(detector: Detector, name: str, params: dict[str, Any]) -> ModelVersion:
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


def load(name: str, version: ModelVersion) -> Detector:
    import mlflow

    forest = mlflow.sklearn.load_model(f"models:/{name}/{version.version}")
    state = mlflow.artifacts.load_dict(f"runs:/{version.run_id}/{STATE_ARTIFACT}")
    return Detector.from_state(forest, state)


def _champion(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version `champion` points at; None only when the model or the alias does not exist."""
    try:
        aliases = client.get_registered_model(name).aliases
    except Exception as exc:
        if _missing(exc):
            return None
        raise _fail("get_registered_model (champion alias)", name, exc) from exc
    current = aliases.get(mlflow_store.CHAMPION_ALIAS) if aliases else None
    if current is None:
        return None
    try:
        return client.get_model_version(name, str(current))
    except Exception as exc:
        raise _fail(f"get_model_version {current} (champion)", name, exc) from exc


def _key(version: ModelVersion) -> tuple[date, int]:
    return _train_end(version) or date.min, int(version.version)


def _move_champion(client: MlflowClient, name: str, version: ModelVersion) -> bool:
    """Point `champion` at `version` unless the champion was trained on a later window."""
    current = _champion(client, name)
    if current is not None and _key(current) > _key(version):
        return False
    if current is not None and str(current.version) == str(version.version):
        return True
    try:
        mlflow_store.set_champion(name, version.version)
    except Exception as exc:
        # Concurrent runs against a tracking server may set the alias between this run's read
        # and its write; MLflow's SQL store then refuses the second insert (a unique constraint
        # on the alias, measured in CI). What counts is where the alias points now.
        now = _champion(client, name)
        if now is not None and _key(now) >= _key(version):
            return str(now.version) == str(version.version)
        raise _fail(f"set alias champion -> {version.version}", name, exc) from exc
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
        versions = _settled_versions(client, name)
        anchor = day if retrain else anchor_date(day, retrain_every_days)
        start = anchor - timedelta(days=window_days)
        chosen = retrain_version(versions, day, start) if retrain else newest_usable(versions, day)
        trained_now = chosen is None or (_train_end(chosen) or date.min) < anchor
        if chosen is None or trained_now:
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
            mine = register(detector, name, params)
            tags = {"retrain_day": day.isoformat()} if retrain else {}
            tags[TRIGGER_TAG] = RETRAIN if retrain else CADENCE  # last: a version with it is complete
            for key, value in tags.items():
                client.set_model_version_tag(name, mine.version, key, value)
            mine = client.get_model_version(name, mine.version)
            log.info("registered %s version %s trained on [%s, %s)", name, mine.version, start, anchor)
            chosen = _dedupe(client, name, mine)
            if chosen is not mine:
                detector, trained_now = load(name, chosen), False
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
