"""Where MLflow keeps runs, the model registry and artifacts, and how models are logged.

One environment variable configures it: `MLFLOW_TRACKING_URI` (default: SQLite in the
project's state directory; a plain file store is in maintenance mode in MLflow 3). With a
SQLite store the artifacts go next to the database unless `MLFLOW_ARTIFACT_ROOT` says
otherwise, so nothing ever lands in `./mlruns` of whatever directory a task runs in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from include.state import state_dir

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

CHAMPION_ALIAS = "champion"
# skops refuses to load types it does not know; an IsolationForest's trees are one of them.
SKOPS_TRUSTED_TYPES = ["sklearn.tree._tree.Tree"]


def tracking_uri() -> str:
    """The tracking/registry store: `MLFLOW_TRACKING_URI`, else SQLite under the state dir."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    return f"sqlite:///{state_dir() / 'mlflow' / 'mlflow.db'}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///…` URI (SQLAlchemy form: four slashes = absolute)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return Path(uri[len(prefix) :].split("?", 1)[0]).resolve()


def artifact_root(uri: str | None = None) -> str | None:
    """Explicit artifact location for new experiments, or None to let a tracking server decide."""
    if os.environ.get("MLFLOW_ARTIFACT_ROOT"):
        return os.environ["MLFLOW_ARTIFACT_ROOT"]
    db = sqlite_path(uri or tracking_uri())
    return (db.parent / "artifacts").as_uri() if db else None


def configure() -> str:
    """Point the mlflow module at the store (creating a SQLite directory) and return the URI."""
    import mlflow

    uri = tracking_uri()
    db = sqlite_path(uri)
    if db:
        db.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str) -> str:
    """Get or create an experiment whose artifacts live at the explicit artifact root."""
    import mlflow

    configure()
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    root = artifact_root()
    location = f"{root.rstrip('/')}/{name}" if root else None
    try:
        return mlflow.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException:
        # Another process created it between our lookup and our create.
        found = mlflow.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def pip_requirements() -> list[str]:
    """Pinned requirements recorded with each model; passing them skips MLflow's slow inference."""
    from importlib.metadata import version

    return [f"{pkg}=={version(pkg)}" for pkg in ("scikit-learn", "numpy", "pandas", "skops")]


def log_sklearn_model(model: Any, registered_model_name: str, **kwargs: Any) -> ModelVersion:
    """Log a fitted scikit-learn model in the active run and register it; returns the version."""
    import mlflow
    from mlflow import MlflowClient

    info = mlflow.sklearn.log_model(
        sk_model=model,
        name="model",
        registered_model_name=registered_model_name,
        serialization_format="skops",
        skops_trusted_types=SKOPS_TRUSTED_TYPES,
        pip_requirements=pip_requirements(),
        **kwargs,
    )
    return MlflowClient().get_model_version(registered_model_name, str(info.registered_model_version))


def set_champion(name: str, version: str) -> None:
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(name, CHAMPION_ALIAS, version)
