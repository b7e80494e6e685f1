"""The task-health page and its data, as the FastAPI app the Airflow API server mounts
(`plugins/task_health_view_plugin.py`, at `views.PREFIX`).

Airflow does not authenticate a plugin's FastAPI app (apache/airflow PR #72655), so every route
here does, through Airflow's own auth manager: the caller's JWT (the UI's `_token` cookie, or an
`Authorization: Bearer` header) names the user (401 without one, before any parameter is read),
and the auth manager says which DAGs that user may read, with their task instances (what the
documents describe; Airflow's own task-instance pages ask the same). A DAG asked for that the
user may not read is a 403, as is a user who may read none; otherwise every panel searches only
the DAGs the user may read (`panels.Scope.readable_dags`). The page runs no script and may load
nothing (Content-Security-Policy). The searches run here, in the API server, with the view's
connection (`sources.view_settings`): no Elasticsearch address or credential reaches the browser.

Routes: `GET /` (the page), `GET /api/panels` (the same panels as JSON). Both take `start`,
`end` or `days`, and `dag_id`, `run_id`, `task_id`, `map_index`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.responses import HTMLResponse, JSONResponse

from include.health_view.page import BadScope, ScopeRequest, render_page, scope_of
from include.health_view.panels import Panel, PanelData, Scope
from include.health_view.sources import results

PAGE_TIMEOUT_S = 1.5  # per search (`panels.all_panel_data`: the page answers within about two of them)


UNFILLED_MAP_INDEX = "{MAP_INDEX}"  # what the UI leaves in an unmapped task instance's link
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'self'",
}


def asked(
    user: GetUserDep,
    start: str | None = None,
    end: str | None = None,
    days: str | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_id: str | None = None,
    map_index: str | None = None,
) -> tuple[ScopeRequest, Any]:
    """The caller (401 first) and the query parameters, numbers read here so that a wrong one is
    a sentence (400); `{MAP_INDEX}` left unfilled by the UI means no map-index filter."""
    index = None if map_index == UNFILLED_MAP_INDEX else parsed_number(map_index, "map_index", int)
    return ScopeRequest(start, end, parsed_number(days, "days", float), dag_id, run_id, task_id, index), user


def parsed_number(text: str | None, name: str, kind: type[float] | type[int]) -> Any:
    if text is None or not text.strip():
        return None
    try:
        return kind(text)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{name} must be a number, not {text!r}") from None


def readable_dags(auth_manager: Any, user: Any) -> frozenset[str]:
    """The DAGs whose task instances the user may read (the documents are about those)."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return frozenset(
        dag_id
        for dag_id in auth_manager.get_authorized_dag_ids(user=user, method="GET")
        if auth_manager.is_authorized_dag(
            method="GET", access_entity=DagAccessEntity.TASK_INSTANCE, details=DagDetails(id=dag_id), user=user
        )
    )


def readable_scope(request: ScopeRequest, user: Any, auth_manager: Any) -> Scope:
    """The scope asked for, kept to the DAGs the user may read (400, 403 otherwise)."""
    try:
        scope = scope_of(request, datetime.now(UTC))
    except BadScope as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from err
    readable = readable_dags(auth_manager, user)
    if scope.dag_id is not None and scope.dag_id not in readable:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you may not read the DAG {scope.dag_id}")
    if not readable:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you may not read any DAG")
    return replace(scope, readable_dags=readable)


AskedDep = Annotated[tuple[ScopeRequest, Any], Depends(asked)]


def _as_json(data: PanelData) -> dict[str, Any]:
    panel: Panel = data.panel
    return {
        "key": panel.key,
        "dashboard": panel.dashboard,
        "title": panel.title,
        "chart": panel.chart,
        "state": data.state,
        "message": data.message,
        "columns": data.columns,
        "rows": data.rows,
        "unfiltered": data.unfiltered,
    }


def create_app() -> FastAPI:
    app = FastAPI(title="Task health", description=__doc__, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def page(asked_by: AskedDep) -> HTMLResponse:
        scope = readable_scope(*asked_by, get_auth_manager())
        html = render_page(results(scope, PAGE_TIMEOUT_S), scope, datetime.now(UTC), with_form=True)
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    @app.get("/api/panels")
    def panel_rows(asked_by: AskedDep) -> JSONResponse:
        scope = readable_scope(*asked_by, get_auth_manager())
        body = {
            "start": scope.start.isoformat(),
            "end": scope.end.isoformat(),
            "filters": scope.filters(),
            "panels": [_as_json(d) for d in results(scope, PAGE_TIMEOUT_S)],
        }
        return JSONResponse(body, headers=SECURITY_HEADERS)

    return app
