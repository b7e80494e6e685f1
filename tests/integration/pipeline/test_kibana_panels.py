"""Every dashboard panel has data after a pipeline run: each panel's equivalent Elasticsearch
aggregation (`include/kibana/queries.py`) runs against the real node, over the documents a
successful run, a failing run with retries and an evaluation left, and returns buckets with
values for every metric. Kibana itself cannot run here; this is what it would query."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest

from include.kibana.dashboards import dashboards, saved_objects
from include.kibana.queries import (
    auto_interval,
    empty_metrics,
    histogram_field,
    last_values,
    leaf_buckets,
    only_layer,
    panel_search,
)
from tests.integration.pipeline.scenario import DAY
from tests.session import PROJECT_ROOT, SESSION_INDEX_PREFIX
from tests.support import state_of


@pytest.fixture(scope="module")
def evaluated(pipeline_run) -> dict:
    days = ["--start", DAY.isoformat(), "--end", (DAY + timedelta(days=1)).isoformat()]
    done = subprocess.run(
        [sys.executable, "-m", "include.anomaly.evaluation", *days],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def panels(pipeline_run, failing_run, evaluated, es_url) -> dict[str, tuple[str, dict, dict]]:
    """{panel index: (index pattern, Lens attributes, the dashboard's time filter)} for this
    session's index names. The dashboards show `now-30d`..`now` on each data view's time field;
    the anomalies' time field is the processed day, a fixed past DAY here, so its "now" is the
    day after DAY (ES date math), which is where that window sits for a daily run."""
    from elasticsearch import Elasticsearch

    objects = saved_objects(SESSION_INDEX_PREFIX, os.environ["ANOMALIES_INDEX"])
    views = {o["id"]: o["attributes"] for o in objects if o["type"] == "index-pattern"}
    with Elasticsearch(es_url, request_timeout=30) as es:
        es.indices.refresh(index=[v["title"] for v in views.values()])
    found = {}
    for board in (o for o in objects if o["type"] == "dashboard"):
        window = board["attributes"]["timeFrom"], board["attributes"]["timeTo"]
        for panel in json.loads(board["attributes"]["panelsJSON"]):
            attributes = panel["embeddableConfig"]["attributes"]
            view = views[attributes["references"][0]["id"]]
            field = view["timeFieldName"]
            now = "now" if field == "@timestamp" else f"{DAY + timedelta(days=1)}||"
            gte, lte = (bound.replace("now", now, 1) for bound in window)
            found[panel["panelIndex"]] = (view["title"], attributes, {field: {"gte": gte, "lte": lte}})
    return found


PANEL_INDEXES = [
    f"{board.key}-{number}-{panel.key}" for board in dashboards() for number, panel in enumerate(board.panels, start=1)
]


def test_the_runs_left_what_the_panels_show(pipeline_run, failing_run) -> None:
    assert state_of(pipeline_run) == "success" and state_of(failing_run) == "failed"


@pytest.mark.parametrize("panel_index", PANEL_INDEXES)
def test_each_panel_has_buckets_and_values(panel_index, panels, es) -> None:
    index, attributes, time_range = panels[panel_index]
    interval = None
    field = histogram_field(attributes)
    if field:
        stats = es.search(index=index, size=0, aggs={"s": {"stats": {"field": field}}})["aggregations"]["s"]
        interval = auto_interval(stats["min"], stats["max"])
    body = panel_search(attributes, interval, time_range)
    response = es.search(index=index, **body)
    leaves = leaf_buckets(response, attributes)
    assert leaves, f"{attributes['title']}: no buckets for {json.dumps(body)}"
    assert empty_metrics(response, attributes) == [], f"{attributes['title']}: metrics without values"


def test_failures_table_shows_the_error_and_the_retries(panels, failing_run, es) -> None:
    index, attributes, time_range = next(v for k, v in panels.items() if k.endswith("latest-failures"))
    layer = only_layer(attributes)
    run_column, task_column, try_column = layer["columnOrder"][:3]
    (message_column,) = [c for c, col in layer["columns"].items() if col["sourceField"] == "error_message.keyword"]
    response = es.search(index=index, **panel_search(attributes, time_range=time_range))
    (run,) = [b for b in response["aggregations"][run_column]["buckets"] if b["key"] == failing_run.run_id]
    (task,) = run[task_column]["buckets"]
    assert task["key"] == "extract"
    assert sorted(b["key"] for b in task[try_column]["buckets"]) == [1, 2, 3], "two retries, then the failure"
    for attempt in task[try_column]["buckets"]:
        (message,) = last_values(attempt, message_column)
        assert "partition missing" in message
