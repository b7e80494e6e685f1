"""The delivery settings a host's drainers and `status` read: which spool roots it adopts."""

from __future__ import annotations

import pytest

from include.delivery.settings import DeliverySettings


def test_adopted_spool_roots_expand_globs_and_keep_only_directories_that_exist(tmp_path, monkeypatch) -> None:
    for worker in ("worker-1", "worker-2"):
        (tmp_path / "workers" / worker / "task_health").mkdir(parents=True)
    (tmp_path / "workers" / "notes.txt").write_text("not a spool")
    plain = tmp_path / "edge" / "task_health"
    plain.mkdir(parents=True)
    missing = tmp_path / "not-yet"
    monkeypatch.setenv("TASK_HEALTH_ADOPT_SPOOL_DIRS", f"{tmp_path}/workers/*/task_health::{plain}:{missing}")
    settings = DeliverySettings.from_env()
    assert settings.adopted_spool_dirs == (f"{tmp_path}/workers/*/task_health", str(plain), str(missing))
    assert settings.adopted_spool_roots == [
        tmp_path / "workers" / "worker-1" / "task_health",
        tmp_path / "workers" / "worker-2" / "task_health",
        plain,
    ]
    missing.mkdir()
    assert settings.adopted_spool_roots[-1] == missing, "a root that appears later is seen then"


@pytest.mark.parametrize(
    ("name", "value"), [("TASK_HEALTH_DRAIN_INTERVAL_S", "soon"), ("TASK_HEALTH_EXIT_DRAIN_S", "x")]
)
def test_drain_settings_must_be_numbers(monkeypatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        DeliverySettings.from_env()


def test_drain_defaults(monkeypatch) -> None:
    for name in ("TASK_HEALTH_DRAIN_INTERVAL_S", "TASK_HEALTH_EXIT_DRAIN_S", "TASK_HEALTH_ADOPT_SPOOL_DIRS"):
        monkeypatch.delenv(name, raising=False)
    settings = DeliverySettings.from_env()
    assert (settings.drain_interval_s, settings.exit_drain_s, settings.adopted_spool_dirs) == (10.0, 2.0, ())
