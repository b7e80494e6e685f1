"""A real MLflow store (SQLite + explicit artifact root): log an IsolationForest, register it,
alias it `champion`, load it back through the alias and get identical predictions."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from include.anomaly import mlflow_store


def test_isolation_forest_round_trip_through_the_registry() -> None:
    import mlflow
    from mlflow import MlflowClient
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(7)
    train = rng.normal(size=(200, 24))
    probe = np.vstack([rng.normal(size=(20, 24)), rng.normal(loc=6.0, size=(5, 24))])
    model = IsolationForest(n_estimators=50, random_state=0).fit(train)

    name = f"test-iforest-{uuid.uuid4().hex[:8]}"
    experiment_id = mlflow_store.ensure_experiment(name)
    assert mlflow_store.ensure_experiment(name) == experiment_id, "second call must reuse the experiment"
    with mlflow.start_run(experiment_id=experiment_id):
        version = mlflow_store.log_sklearn_model(model, registered_model_name=name)
    mlflow_store.set_champion(name, version.version)

    client = MlflowClient()
    assert client.get_model_version_by_alias(name, mlflow_store.CHAMPION_ALIAS).version == version.version
    loaded = mlflow.sklearn.load_model(f"models:/{name}@{mlflow_store.CHAMPION_ALIAS}")
    np.testing.assert_array_equal(loaded.predict(probe), model.predict(probe))
    np.testing.assert_array_equal(loaded.score_samples(probe), model.score_samples(probe))
    assert (loaded.predict(probe)[-5:] == -1).all(), "the shifted rows should be anomalies"

    # Artifacts live under the explicit root next to the SQLite store, not in ./mlruns.
    artifact_location = urlparse(mlflow.get_experiment(experiment_id).artifact_location).path
    store_dir = mlflow_store.sqlite_path(mlflow_store.tracking_uri()).parent
    assert Path(artifact_location).is_relative_to(store_dir / "artifacts")
    assert any(Path(artifact_location).rglob("MLmodel"))
    assert not Path("mlruns").exists()
