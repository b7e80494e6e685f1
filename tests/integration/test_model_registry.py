"""Point-in-time model selection against a real MLflow store: train on the cadence, reuse on
re-runs, never look ahead, move `champion` only forward, and never register twice under
concurrency."""

from __future__ import annotations

import multiprocessing
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pytest

from include.anomaly import mlflow_store, registry
from include.anomaly.demo_data import DemoConfig, region_day, region_names

REGIONS = region_names(4)
CALLS: list[tuple[date, date]] = []


def demo_history(start: date, end: date) -> dict:
    CALLS.append((start, end))
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    return {(r, d): region_day(DemoConfig(), r, d)[0] for r in REGIONS for d in days}


@pytest.fixture
def model_name(monkeypatch) -> str:
    name = f"test-registry-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ANOMALY_MODEL_NAME", name)
    CALLS.clear()
    return name


def choose(day: date, **kwargs):
    return registry.select_or_train(day, demo_history, n_estimators=30, **kwargs)


def versions(name: str) -> list:
    from mlflow import MlflowClient

    return sorted(MlflowClient().search_model_versions(f"name='{name}'"), key=lambda v: int(v.version))


def test_train_reuse_and_champion_over_a_sequence_of_days(model_name) -> None:
    from mlflow import MlflowClient

    wednesday = date(2026, 2, 11)
    anchor = registry.anchor_date(wednesday, 7)
    assert anchor == date(2026, 2, 9) and anchor.weekday() == 0

    _, first = choose(wednesday)
    assert first.trained_now and first.champion and first.version == "1"
    assert (first.train_start, first.train_end) == (anchor - timedelta(days=28), anchor)
    assert [(anchor - timedelta(days=28), anchor)] == CALLS, "history only from before the anchor"
    tags = versions(model_name)[0].tags
    assert tags["train_end"] == "2026-02-09" and len(tags["data_fingerprint"]) == 64

    _, again = choose(wednesday)
    _, same_week = choose(date(2026, 2, 15))
    assert (again.version, again.trained_now, same_week.version) == ("1", False, "1")

    _, next_week = choose(date(2026, 2, 17))
    assert (next_week.version, next_week.trained_now, next_week.champion) == ("2", True, True)
    assert next_week.train_end == date(2026, 2, 16)

    _, backfill = choose(date(2026, 2, 3))  # an older week: its own model, champion untouched
    assert (backfill.version, backfill.train_end, backfill.champion) == ("3", date(2026, 2, 2), False)
    assert str(MlflowClient().get_model_version_by_alias(model_name, "champion").version) == "2"

    _, reused = choose(date(2026, 2, 12))
    assert reused.version == "1", "the same answer the first run gave"
    assert len(versions(model_name)) == 3


def test_loaded_detector_scores_like_the_trained_one(model_name) -> None:
    from include.anomaly.detector import score_day

    day = date(2026, 2, 11)
    trained, _ = choose(day)
    loaded, choice = choose(day)
    assert not choice.trained_now
    values = np.vstack([region_day(DemoConfig(), r, day)[0] for r in REGIONS])
    a, _ = score_day(trained, REGIONS, day, values)
    b, _ = score_day(loaded, REGIONS, day, values)
    np.testing.assert_allclose(a.score, b.score)
    assert loaded.fingerprint == trained.fingerprint


def test_retrain_trains_up_to_the_day_itself(model_name) -> None:
    _, choice = choose(date(2026, 2, 11), retrain=True)
    assert choice.train_end == date(2026, 2, 11) and choice.trained_now


def test_not_enough_history_is_a_clear_error(model_name) -> None:
    with pytest.raises(ValueError, match=r"not enough history to train a model for 2026-02-11: 0 day\(s\)"):
        registry.select_or_train(date(2026, 2, 11), lambda start, end: {}, n_estimators=10)


def _choose_in_a_process(day: date) -> str:
    return choose(day)[1].version


def test_concurrent_runs_register_one_version_and_one_champion(model_name) -> None:
    from mlflow import MlflowClient

    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        chosen = pool.map(_choose_in_a_process, [date(2026, 2, 10), date(2026, 2, 11), date(2026, 2, 12)])
    assert len(set(chosen)) == 1 and len(versions(model_name)) == 1
    assert str(MlflowClient().get_model_version_by_alias(model_name, "champion").version) == chosen[0]


def test_a_retrain_does_not_change_the_model_of_another_day(model_name) -> None:
    _, cadence = choose(date(2026, 2, 10))
    _, retrained = choose(date(2026, 2, 11), retrain=True)
    assert retrained.version == "2" and retrained.train_end == date(2026, 2, 11) and retrained.champion
    _, next_day = choose(date(2026, 2, 12))
    assert (next_day.version, next_day.trained_now) == (cadence.version, False), "the cadence version"
    _, again = choose(date(2026, 2, 11), retrain=True)
    assert (again.version, again.trained_now) == ("2", False), "a second retrain of the day reuses it"
    tags = {str(v.version): v.tags for v in versions(model_name)}
    assert tags["1"]["trigger"] == "cadence"
    assert (tags["2"]["trigger"], tags["2"]["retrain_day"]) == ("retrain", "2026-02-11")
    assert len(tags) == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_failed_registry_read_is_a_clear_error_and_registers_nothing(model_name, monkeypatch) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with pytest.raises(
        registry.RegistryError, match=rf"search_model_versions for model '{model_name}' failed at {url}"
    ):
        choose(date(2026, 2, 11))
    assert CALLS == [], "no history loaded, nothing trained"
    monkeypatch.undo()
    mlflow_store.configure()
    assert versions(model_name) == []


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory) -> Iterator[str]:
    """A real `mlflow server` (its own SQLite store and artifact root) for this module."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log_file = open(root / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{root}/db",
            "--default-artifact-root",
            (root / "art").as_uri(),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log_file.close()


def test_concurrent_runs_against_a_tracking_server_keep_one_version_and_one_champion(
    model_name, mlflow_server, monkeypatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        chosen = pool.map(_choose_in_a_process, [date(2026, 2, 11)] * 3)
    mlflow_store.configure()
    left = versions(model_name)
    assert len(set(chosen)) == 1 and [str(v.version) for v in left] == chosen[:1], (chosen, left)
    assert str(MlflowClient().get_model_version_by_alias(model_name, "champion").version) == chosen[0]
    monkeypatch.undo()
    mlflow_store.configure()
