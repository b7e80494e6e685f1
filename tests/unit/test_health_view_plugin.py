"""The page's registration (`include/health_view/views.py`, `lazy_app.py`): one view per place of
the UI, each opening the page on what that place shows, and an app built on its first request."""

from __future__ import annotations

import asyncio
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

from include.health_view.lazy_app import LazyAsgiApp
from include.health_view.views import PREFIX, external_views

PLACEHOLDERS = {"dag_id": "{DAG_ID}", "run_id": "{RUN_ID}", "task_id": "{TASK_ID}", "map_index": "{MAP_INDEX}"}


def test_every_place_of_the_ui_opens_the_page_filtered_to_what_it_shows() -> None:
    views = {v["destination"]: v for v in external_views()}
    assert set(views) == {"nav", "dag", "dag_run", "task", "task_instance"}
    assert len({v["url_route"] for v in views.values()}) == len(views), "a route taken twice is dropped by Airflow"
    filters = {place: parse_qs(urlsplit(v["href"]).query) for place, v in views.items()}
    assert filters["nav"] == {}
    assert filters["dag_run"] == {"dag_id": ["{DAG_ID}"], "run_id": ["{RUN_ID}"]}
    assert filters["task_instance"] == {name: [value] for name, value in PLACEHOLDERS.items()}
    assert all(urlsplit(v["href"]).path == f"{PREFIX}/" for v in views.values())


def test_the_app_is_built_once_on_its_first_request_and_answers_it(monkeypatch) -> None:
    built: list[int] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "path": scope["path"]})

    def factory() -> Any:
        built.append(1)
        return app

    module = type(sys)("lazy_app_factory_for_test")
    module.factory = factory  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    lazy = LazyAsgiApp(f"{module.__name__}:factory")
    assert built == [], "nothing is built at registration"

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for path in ("/", "/api/panels"):
        asyncio.run(lazy({"type": "http", "path": path}, None, send))  # type: ignore[arg-type]
    assert built == [1] and [m["path"] for m in sent] == ["/", "/api/panels"]
