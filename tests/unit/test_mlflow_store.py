"""Where the MLflow store and its artifacts go, from one environment variable."""

from __future__ import annotations

from include.anomaly import mlflow_store


def test_default_is_sqlite_under_the_state_dir(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    assert mlflow_store.tracking_uri() == f"sqlite:///{tmp_path}/mlflow/mlflow.db"


def test_artifacts_sit_next_to_a_sqlite_store(monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_ARTIFACT_ROOT", raising=False)
    assert mlflow_store.artifact_root("sqlite:////srv/ml/mlflow.db") == "file:///srv/ml/artifacts"


def test_a_tracking_server_chooses_its_own_artifact_store(monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_ARTIFACT_ROOT", raising=False)
    assert mlflow_store.artifact_root("http://mlflow:5000") is None


def test_explicit_artifact_root_wins(monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", "s3://bucket/mlflow")
    assert mlflow_store.artifact_root("sqlite:////srv/ml/mlflow.db") == "s3://bucket/mlflow"
