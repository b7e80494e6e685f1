"""The "Task health" page in a real browser (Debian's Chromium, headless, driven by Playwright),
against a live Airflow with sign-in on: scheduler, DAG processor, triggerer and API server of
its own (the session's live Airflow lets everyone in as admin, and `airflow standalone` forces
its own auth manager), whose auth manager keeps some users to some DAGs
(tests/e2e/dag_scoped_auth.py), after one real pipeline run there.

What is proven: the page and its API answer 401 to an anonymous request and 403 to a user who
may not read the DAG; each panel draws exactly the rows its API gives, and those rows are the
documents' own figures; the page opens from the navigation and from a task instance (filtered to
it); the time range changes what it shows; no Elasticsearch address or credential reaches the
browser. Screenshots go to `$TESTS_ARTIFACTS_DIR/screenshots` (default
/tmp/airflow-anomaly-test-artifacts), kept after the session.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, FrameLocator, Page, sync_playwright

from include.anomaly.demo_data import DemoConfig, write_days
from include.health_view.charts import label
from tests.e2e.live import LiveAirflow, components, install_templates, postgres
from tests.health_view import expected_values
from tests.integration.pipeline.scenario import DAY, REGIONS  # a demo day with a labelled anomaly
from tests.session import ARTIFACTS_DIR, SESSION_DIR

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PORT = int(os.environ.get("AIRFLOW_VIEW_PORT", "8821"))
BASE = f"http://localhost:{PORT}"
VIEW_PREFIX = f"th-view-{uuid.uuid4().hex[:10]}"
DAG_ID = "hourly_anomaly_detection"
# admin reads everything; reader only the pipeline; stranger no DAG at all.
ROLES = {"admin": "admin", "reader": "viewer", "stranger": "viewer"}
ACCESS = {"reader": [DAG_ID], "stranger": []}
SCREENSHOTS = ARTIFACTS_DIR / "screenshots"


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    return {name: secrets.token_urlsafe(12) for name in ROLES}


@pytest.fixture(scope="module")
def view_airflow(live_airflow_env, secured_node, passwords) -> Iterator[LiveAirflow]:
    home = SESSION_DIR / "airflow-view"
    home.mkdir(parents=True, exist_ok=True)
    (home / "passwords.json").write_text(json.dumps(passwords))
    database = f"airflow_view_{VIEW_PREFIX.rsplit('-', 1)[-1]}"
    postgres("createdb", database)
    env = {
        **live_airflow_env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres("url", database),
        "AIRFLOW__API__PORT": str(PORT),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{BASE}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": "tests.e2e.dag_scoped_auth.DagScopedAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{n}:{r}" for n, r in ROLES.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "TEST_DAG_ACCESS": json.dumps(ACCESS),
        "TASK_HEALTH_INDEX_PREFIX": VIEW_PREFIX,
        "ANOMALIES_INDEX": f"{VIEW_PREFIX}_anomalies",
        "TASK_HEALTH_SPOOL_DIR": str(home / "task_health"),
        "DATA_ROOT": (home / "data").as_uri(),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        # The page reads through a connection of its own (the writer's API key: its role may read
        # what it writes), tasks write through the writer's password.
        "AIRFLOW_CONN_ELASTICSEARCH_VIEW": secured_node.connection_json("writer-api-key"),
        "TASK_HEALTH_VIEW_CONN_ID": "elasticsearch_view",
    }
    install_templates(env, secured_node.connection_json("admin"))
    write_days(home / "data", DAY - timedelta(days=40), DAY + timedelta(days=1), REGIONS, DemoConfig())
    try:
        with components(env, BASE) as live:
            live.headers = {"Authorization": f"Bearer {token('admin', passwords)}"}
            live.api("POST", "/pools", json={"name": "model_registry", "slots": 1, "include_deferred": False})
            yield live
    finally:
        postgres("dropdb", database)


def token(user: str, passwords: dict[str, str]) -> str:
    response = requests.post(f"{BASE}/auth/token", json={"username": user, "password": passwords[user]}, timeout=30)
    assert response.status_code in {200, 201}, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def pipeline_run(view_airflow) -> str:
    run_id = view_airflow.trigger(DAG_ID, conf={"date": DAY.isoformat(), "shard_size": 3})
    assert view_airflow.wait_for_run(DAG_ID, run_id, timeout=300) == "success"
    return run_id


@pytest.fixture(scope="module")
def documents(pipeline_run, live_es) -> list[dict[str, Any]]:
    """The run's task-health documents, once its summary is in (the run's last document)."""
    deadline = time.monotonic() + 60
    while True:
        live_es.indices.refresh(index=f"{VIEW_PREFIX}-*")
        hits = live_es.search(index=f"{VIEW_PREFIX}-*", size=1000, query={"term": {"airflow.run_id": pipeline_run}})
        docs = [h["_source"] for h in hits["hits"]["hits"]]
        if any(d["event"] == "dag_run" for d in docs) or time.monotonic() > deadline:
            return docs
        time.sleep(1)


def panels_json(user_token: str, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{BASE}/task-health/api/panels", params=params,
                            headers={"Authorization": f"Bearer {user_token}"}, timeout=30)  # fmt: skip
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Never skipped: `make test` installs Debian's Chromium (scripts/chromium.sh)."""
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run scripts/chromium.sh install, or set CHROMIUM"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def signed_in(browser, view_airflow, passwords, pipeline_run) -> Iterator[Page]:
    """A browser tab signed in as admin through Airflow's own login form."""
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{BASE}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", passwords["admin"])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url, timeout=30_000)
    yield page
    page.close()


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def drawn(view: FrameLocator | Page, key: str) -> set[tuple[str, str, float]]:
    """What a chart panel shows: (x, series, value) of every drawn value."""
    cells = view.locator(f"[data-panel='{key}'] [data-value]").evaluate_all(
        "els => els.map(e => [e.dataset.x, e.dataset.series, e.dataset.value])"
    )
    return {(x, series, float(value)) for x, series, value in cells}


def test_anonymous_and_unauthorised_callers_get_401_and_403(view_airflow, passwords) -> None:
    for path in ("/task-health/", "/task-health/api/panels"):
        assert requests.get(f"{BASE}{path}", timeout=30).status_code == 401, path
        stranger = {"Authorization": f"Bearer {token('stranger', passwords)}"}
        assert requests.get(f"{BASE}{path}", headers=stranger, timeout=30).status_code == 403, path
        reader = {"Authorization": f"Bearer {token('reader', passwords)}"}
        other_dag = requests.get(f"{BASE}{path}", params={"dag_id": "stack_check"}, headers=reader, timeout=30)
        assert other_dag.status_code == 403 and "stack_check" in other_dag.text, path
        for params, says in (({"days": "0"}, "days must be more than 0"), ({"map_index": "x"}, "map_index must be")):
            wrong = requests.get(f"{BASE}{path}", params=params, headers=reader, timeout=30)
            assert wrong.status_code == 400 and says in wrong.text, (path, params)


def test_the_api_rows_are_the_documents_figures(view_airflow, passwords, documents, pipeline_run, secured_node):
    body = panels_json(token("reader", passwords), run_id=pipeline_run)
    by_key = {p["key"]: p for p in body["panels"]}
    shown: Counter[str] = Counter()
    for _, status, count in by_key["outcomes"]["rows"]:
        shown[status] += count
    finished = {"completed", "failed", "up_for_retry", "skipped"}
    held = Counter(d["status"] for d in documents if d["event"] == "task_execution" and d["status"] in finished)
    assert held and shown == held
    runs = by_key["anomalies-per-run"]["rows"]
    model_docs = [d for d in documents if d["event"] == "model_execution" and d["status"] == "completed"]
    assert [row[0] for row in runs] == [pipeline_run]
    assert runs[0][2] == sum(d["details"]["anomalies_count"] for d in model_docs)
    assert runs[0][3] == sum(d["details"]["successful_predictions"] for d in model_docs)
    text = json.dumps(body)
    for secret in [*secured_node.secrets(), secured_node.url.split("//", 1)[1]]:
        assert secret not in text, "no Elasticsearch address or credential in the API's answer"


def test_the_page_from_the_navigation_draws_what_the_api_gives(signed_in, passwords, documents) -> None:
    page = signed_in
    page.goto(f"{BASE}/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="Task health").click()
    view = page.frame_locator("iframe")
    view.locator("[data-panel='outcomes']").wait_for(timeout=30_000)
    shot(page, "task-health-page")
    body = panels_json(token("admin", passwords))
    for panel in body["panels"]:
        if panel["state"] != "ok":
            assert view.locator(f"[data-panel='{panel['key']}'] .state").inner_text() == panel["message"]
        elif panel["chart"] == "table":
            cells = view.locator(f"[data-panel='{panel['key']}'] tbody tr td:first-child").all_inner_texts()
            assert cells == [label(row[0]) for row in panel["rows"]], panel["key"]
        else:
            want = expected_values(panel["chart"], panel["columns"], panel["rows"])
            assert drawn(view, panel["key"]) == want, panel["key"]
    # The anomalies panel is over processed days (DAY, weeks ago): not in the default range.
    shown = {p["key"] for p in body["panels"] if p["state"] == "ok"}
    assert shown >= {"outcomes", "response-times", "latest-failures"}, shown
    html = view.locator("body").inner_html()
    assert "9200" not in html and "password" not in html.lower()


def test_the_page_from_a_task_instance_shows_that_try(signed_in, passwords, pipeline_run) -> None:
    page = signed_in
    page.goto(f"{BASE}/dags/{DAG_ID}/runs/{pipeline_run}/tasks/persist")
    page.get_by_role("link", name="Task health", exact=True).click()  # the task instance's tab
    view = page.frame_locator("iframe")
    view.locator("[data-panel='outcomes']").wait_for(timeout=30_000)
    shot(page, "task-health-task-instance")
    chips = view.locator(".chip").all_inner_texts()
    assert any(f"Run: {pipeline_run}" in c for c in chips) and any("Task: persist" in c for c in chips)
    outcomes = drawn(view, "outcomes")
    assert outcomes and {series for _, series, _ in outcomes} == {"completed"}
    assert sum(value for _, _, value in outcomes) == 1, "one try of persist"
    response_times = drawn(view, "response-times")
    assert {series for _, series, _ in response_times} == {"persist"}


def test_changing_the_time_range_changes_what_is_shown(signed_in, passwords) -> None:
    page = signed_in
    page.goto(f"{BASE}/task-health/?dag_id={DAG_ID}")
    assert drawn(page, "outcomes"), "the run is in the default range"
    assert page.locator("[data-panel='anomalies-heatmap']").get_attribute("data-state") == "empty", "DAY is older"
    page.fill("input[name=start]", "2001-01-01T00:00")
    page.fill("input[name=end]", "2001-01-02T00:00")
    page.click("form.range button[type=submit]")
    page.wait_for_url(lambda url: "start=2001-01-01" in url)
    assert page.locator(".banner").inner_text() == "No task-health documents in this time range and filter."
    assert page.locator("[data-panel='outcomes']").get_attribute("data-state") == "empty"
    assert page.locator(".chip").all_inner_texts() == [f"DAG: {DAG_ID}\u00d7"], "the filter is kept"
    start = (DAY - timedelta(days=1)).isoformat()
    page.fill("input[name=start]", f"{start}T00:00")
    page.fill("input[name=end]", f"{date.today() + timedelta(days=1)}T00:00")
    page.click("form.range button[type=submit]")
    page.wait_for_url(lambda url: f"start={start}" in url)
    shot(page, "task-health-range")
    body = panels_json(token("admin", passwords), dag_id=DAG_ID, start=start, end=f"{date.today() + timedelta(days=1)}")
    heatmap = next(p for p in body["panels"] if p["key"] == "anomalies-heatmap")
    assert heatmap["state"] == "ok", "the processed day is in this range"
    assert drawn(page, "anomalies-heatmap") == expected_values("heatmap", heatmap["columns"], heatmap["rows"])
    page.get_by_role("link", name="7 days").click()
    page.wait_for_url(lambda url: "days=7" in url)
    assert drawn(page, "outcomes")
