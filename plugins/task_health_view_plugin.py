"""Registers the "Task health" page in the Airflow UI: the dashboards' panels from the
task-health documents, for signed-in users, over the DAGs each may read (the app:
include/health_view/api.py, built on its first request; the links: include/health_view/views.py).
The page is in the navigation ("Browse") and a tab of every DAG, DAG run, task and task instance,
opened on it."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.health_view.lazy_app import LazyAsgiApp
from include.health_view.views import PREFIX, external_views


class TaskHealthViewPlugin(AirflowPlugin):
    name = "task_health_view"
    fastapi_apps = [
        {"app": LazyAsgiApp("include.health_view.api:create_app"), "url_prefix": PREFIX, "name": "Task health"}
    ]
    external_views = external_views()
