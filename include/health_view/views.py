"""Where the page shows in Airflow's UI: one external view per place, each opening the page on
what that place shows through the UI's placeholders ({DAG_ID}, {RUN_ID}, {TASK_ID}, {MAP_INDEX}).
With a `url_route` the UI embeds the page (same origin: the UI's sign-in cookie comes along)."""

from __future__ import annotations

from typing import Any

PREFIX = "/task-health"
NAME = "Task health"
# destination: (url_route, query the UI fills in). Every route is unique across plugins.
PLACES = {
    "nav": ("task-health", ""),
    "dag": ("task-health-dag", "dag_id={DAG_ID}"),
    "dag_run": ("task-health-run", "dag_id={DAG_ID}&run_id={RUN_ID}"),
    "task": ("task-health-task", "dag_id={DAG_ID}&task_id={TASK_ID}"),
    "task_instance": ("task-health-ti", "dag_id={DAG_ID}&run_id={RUN_ID}&task_id={TASK_ID}&map_index={MAP_INDEX}"),
}


def page_href(query: str = "") -> str:
    return f"{PREFIX}/" + (f"?{query}" if query else "")


def external_views() -> list[dict[str, Any]]:
    return [
        {
            "name": NAME,
            "href": page_href(query),
            "destination": destination,
            "url_route": route,
            "category": "browse" if destination == "nav" else None,
        }
        for destination, (route, query) in PLACES.items()
    ]
