"""The Celery worker's preload: which modules, and that the hook imports them and survives a bad name."""

from __future__ import annotations

import sys

from include.stack import celery_worker


def test_the_default_preloads_the_pipelines_libraries_and_an_empty_setting_none(monkeypatch) -> None:
    monkeypatch.delenv("CELERY_WORKER_PRELOAD", raising=False)
    expected = {"pandas", "sklearn.ensemble", "mlflow.sklearn", "skops.io", "elasticsearch"}
    expected |= {"mlflow.store.tracking.sqlalchemy_store", "include.task_health.listener"}
    assert expected <= set(celery_worker.preload_modules())
    monkeypatch.setenv("CELERY_WORKER_PRELOAD", " ")
    assert celery_worker.preload_modules() == []


def test_the_hook_imports_each_module_and_a_missing_one_costs_only_a_warning(monkeypatch, caplog) -> None:
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    monkeypatch.setenv("CELERY_WORKER_PRELOAD", "no_such_module_here, colorsys")
    celery_worker._preload_before_the_pool_forks()
    assert "colorsys" in sys.modules
    assert any("preload of no_such_module_here failed" in r.getMessage() for r in caplog.records)
