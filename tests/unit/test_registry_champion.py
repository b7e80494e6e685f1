"""Moving `champion` when a concurrent run writes the alias between this run's read and its
write (MLflow's SQL store refuses the second insert): the alias's state afterwards decides."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from include.anomaly import mlflow_store, registry


def version(number: int, train_end: str) -> SimpleNamespace:
    return SimpleNamespace(version=str(number), tags={"train_end": train_end})


class Registry:
    """A registry whose alias a concurrent run moves to `concurrent` as this run writes."""

    def __init__(self, concurrent: SimpleNamespace | None) -> None:
        self.champion: SimpleNamespace | None = None
        self.concurrent = concurrent
        self.versions: dict[str, SimpleNamespace] = {}

    def get_registered_model(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(aliases={"champion": self.champion.version} if self.champion else {})

    def get_model_version(self, name: str, number: str) -> SimpleNamespace:
        return self.versions[number]

    def set_champion(self, name: str, number: str) -> None:
        self.champion = self.concurrent
        raise RuntimeError("BAD_REQUEST: UNIQUE constraint failed: registered_model_aliases.alias")


@pytest.fixture
def mine() -> SimpleNamespace:
    return version(4, "2026-02-11")


def with_registry(monkeypatch, concurrent, *known) -> Registry:
    fake = Registry(concurrent)
    fake.versions = {v.version: v for v in known}
    monkeypatch.setattr(mlflow_store, "set_champion", fake.set_champion)
    return fake


def test_a_concurrent_run_that_set_the_same_version_is_success(monkeypatch, mine) -> None:
    fake = with_registry(monkeypatch, mine, mine)
    assert registry._move_champion(fake, "m", mine) is True


def test_a_concurrent_run_that_set_a_later_window_wins(monkeypatch, mine) -> None:
    later = version(5, "2026-02-18")
    fake = with_registry(monkeypatch, later, mine, later)
    assert registry._move_champion(fake, "m", mine) is False


def test_a_refused_write_with_the_alias_still_behind_is_an_error(monkeypatch, mine) -> None:
    older = version(2, "2026-01-28")
    fake = with_registry(monkeypatch, older, mine, older)
    with pytest.raises(registry.RegistryError, match="set alias champion -> 4"):
        registry._move_champion(fake, "m", mine)
