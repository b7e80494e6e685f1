"""The Kibana saved objects: the shipped NDJSON is the validated build, it has the panels the
dashboards promise, and the offline validator catches each kind of defect Kibana would let
through on import (a broken object imports "successfully" and fails only when rendered)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import timedelta

import pytest

from include.kibana.__main__ import BUILT_FILE
from include.kibana.dashboards import saved_objects, to_ndjson
from include.kibana.queries import UnsupportedQuery, kql_to_query, only_layer
from include.kibana.validate import parse_ndjson, project_fields_by_view, template_fields, validate

FIELDS = project_fields_by_view()


def problems(objects: list[dict]) -> list[str]:
    return validate(objects, FIELDS)


def panels_of(objects: list[dict], dashboard_id: str) -> list[dict]:
    board = next(o for o in objects if o["id"] == dashboard_id)
    return json.loads(board["attributes"]["panelsJSON"])


def test_the_shipped_file_is_the_current_build_and_valid() -> None:
    text = BUILT_FILE.read_text()
    assert text == to_ndjson(saved_objects()), "run `python -m include.kibana build`"
    objects, parse_problems = parse_ndjson(text)
    assert parse_problems == [] and problems(objects) == []
    assert {(o["type"], o["id"]) for o in objects} == {
        ("index-pattern", "airflow-anomaly-data-task-health"),
        ("index-pattern", "airflow-anomaly-data-anomalies"),
        ("index-pattern", "airflow-anomaly-data-task-logs"),
        ("dashboard", "airflow-anomaly-task-health"),
        ("dashboard", "airflow-anomaly-model-runs"),
    }


def lens(panel: dict) -> dict:
    return panel["embeddableConfig"]["attributes"]


def panel_layer(panel: dict) -> dict:
    return only_layer(lens(panel))


def columns(panel: dict) -> list[dict]:
    layer = panel_layer(panel)
    return [layer["columns"][c] for c in layer["columnOrder"]]


def uses(panel: dict, operation: str, field: str) -> bool:
    return any(c["operationType"] == operation and c["sourceField"] == field for c in columns(panel))


def test_the_dashboards_have_the_promised_panels() -> None:
    objects = saved_objects()
    health = panels_of(objects, "airflow-anomaly-task-health")
    model = panels_of(objects, "airflow-anomaly-model-runs")
    promised: dict[str, Callable[[dict], bool]] = {
        "response time histogram by task": lambda p: (
            uses(p, "range", "response_time") and uses(p, "terms", "airflow.task_id")
        ),
        "outcomes over time by status": lambda p: (
            uses(p, "date_histogram", "@timestamp") and uses(p, "terms", "status")
        ),
        "anomalies per region and day": lambda p: uses(p, "terms", "region") and uses(p, "date_histogram", "date"),
        "host CPU and memory": lambda p: uses(p, "average", "cpu_usage") and uses(p, "average", "memory_usage"),
        "process CPU": lambda p: uses(p, "average", "process.cpu_percent"),
        "process peak memory": lambda p: uses(p, "max", "process.memory_rss_bytes"),
        "latest failures with dag, task, try, message": lambda p: all(
            any(c["sourceField"] == f for c in columns(p))
            for f in ("airflow.dag_id", "airflow.task_id", "airflow.try_number", "error_message.keyword")
        ),
    }
    for what, matches in promised.items():
        assert any(matches(p) for p in health), what
    for what, field in {"model version": "model_version", "anomalies per run": "details.anomalies_count"}.items():
        assert any(any(c["sourceField"] == field for c in columns(p)) for p in model), what
    assert any(uses(p, "average", "details.f1") and uses(p, "average", "details.baseline_f1") for p in model)


def mutate(change: Callable[[list[dict]], None]) -> list[str]:
    objects = copy.deepcopy(saved_objects())
    change(objects)
    return problems(objects)


def first_dashboard(objects: list[dict]) -> dict:
    return next(o for o in objects if o["type"] == "dashboard")


def edit_first_panel(objects: list[dict], change: Callable[[dict], None]) -> None:
    board = first_dashboard(objects)
    panels = json.loads(board["attributes"]["panelsJSON"])
    change(panels[0])
    board["attributes"]["panelsJSON"] = json.dumps(panels)


def first_column(panel: dict) -> dict:
    layer = panel_layer(panel)
    return layer["columns"][layer["columnOrder"][0]]


def set_query(panel: dict, query: str) -> None:
    lens(panel)["state"]["query"]["query"] = query


def drop_layer_columns(panel: dict) -> None:
    layer = panel_layer(panel)
    layer["columnOrder"] = layer["columnOrder"][1:]


def retype(panel: dict, field: str, operation: str) -> None:
    first_column(panel).update(sourceField=field, operationType=operation)


DEFECTS: dict[str, tuple[Callable[[list[dict]], None], str]] = {
    "unknown field": (
        lambda o: edit_first_panel(o, lambda p: first_column(p).update(sourceField="no_such_field")),
        "'no_such_field' is not in the index template",
    ),
    "a text field as terms": (
        lambda o: edit_first_panel(o, lambda p: retype(p, "error_message", "terms")),
        "terms cannot use error_message of type text",
    ),
    "an operation name Lens does not have": (
        lambda o: edit_first_panel(o, lambda p: first_column(p).update(operationType="avg")),
        "unknown operation 'avg'",
    ),
    "a query outside the translated subset": (
        lambda o: edit_first_panel(o, lambda p: set_query(p, "status > 3")),
        "cannot translate KQL",
    ),
    "a query on an unknown field": (
        lambda o: edit_first_panel(o, lambda p: set_query(p, 'nope: "x"')),
        "query field 'nope'",
    ),
    "columnOrder out of step with columns": (lambda o: edit_first_panel(o, drop_layer_columns), "columnOrder"),
    "panelIndex differs from gridData.i": (
        lambda o: edit_first_panel(o, lambda p: p["gridData"].update(i="other")),
        "differs from panelIndex",
    ),
    "a panel off the grid": (
        lambda o: edit_first_panel(o, lambda p: p["gridData"].update(x=40)),
        "does not fit the 48-column grid",
    ),
    "overlapping panels": (
        lambda o: edit_first_panel(o, lambda p: p["gridData"].update(y=1)),
        "overlaps another panel",
    ),
    "a dangling reference": (
        lambda o: first_dashboard(o)["references"][0].update(id="missing-view"),
        "not in the set",
    ),
    "a reference not hoisted": (lambda o: first_dashboard(o)["references"].pop(0), "not hoisted to the dashboard"),
    "an unknown dashboard attribute": (
        lambda o: first_dashboard(o)["attributes"].update(version=1),
        "unknown attribute(s) ['version']",
    ),
    "panelsJSON as an object": (
        lambda o: first_dashboard(o)["attributes"].update(panelsJSON=[]),
        "panelsJSON must be a JSON string",
    ),
    "a typeMigrationVersion newer than Kibana knows": (
        lambda o: first_dashboard(o).update(typeMigrationVersion="99.0.0"),
        "typeMigrationVersion '99.0.0'",
    ),
    "a data view without a date time field": (
        lambda o: o[0]["attributes"].update(timeFieldName="status"),
        "is not a date field",
    ),
    "a missing envelope key": (lambda o: first_dashboard(o).pop("managed"), "envelope keys"),
    "a metric on the x axis": (
        lambda o: edit_first_panel(o, lambda p: swap_x_and_metric(visualization(p)["layers"][0])),
        "must be a bucket column",
    ),
    "an unknown series type": (
        lambda o: edit_first_panel(o, lambda p: visualization(p)["layers"][0].update(seriesType="pie")),
        "unknown seriesType 'pie'",
    ),
    "a heatmap type on an XY state": (
        lambda o: edit_first_panel(o, lambda p: lens(p).update(visualizationType="lnsHeatmap")),
        "not the shape of a lnsHeatmap",
    ),
    "a layer that is not a data layer": (
        lambda o: edit_first_panel(o, lambda p: visualization(p)["layers"][0].update(layerType="annotations")),
        "expected 'data'",
    ),
    "terms ordered by a bucket column": (
        lambda o: edit_first_panel(o, order_split_by_x),
        "must be ordered by a single-value metric column",
    ),
    "a column without a label": (
        lambda o: edit_first_panel(o, lambda p: first_column(p).update(label="")),
        "needs a label",
    ),
    "a fractional grid height": (
        lambda o: edit_first_panel(o, lambda p: p["gridData"].update(h=11.5)),
        "does not fit",
    ),
    "a term query on a text field": (
        lambda o: edit_first_panel(o, lambda p: set_query(p, 'error_message: "boom"')),
        "is text",
    ),
}


def visualization(panel: dict) -> dict:
    return lens(panel)["state"]["visualization"]


def swap_x_and_metric(layer: dict) -> None:
    layer["xAccessor"], layer["accessors"] = layer["accessors"][0], [layer["xAccessor"]]


def order_split_by_x(panel: dict) -> None:
    layer = panel_layer(panel)
    x_column, split_column = layer["columnOrder"][:2]
    layer["columns"][split_column]["params"]["orderBy"] = {"type": "column", "columnId": x_column}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_the_validator_catches(defect: str) -> None:
    change, expected = DEFECTS[defect]
    found = mutate(change)
    assert any(expected in p for p in found), found


def test_ndjson_lines_that_are_not_objects() -> None:
    objects, found = parse_ndjson('{"type": "dashboard"}\nnot json\n[1]\n\n')
    assert len(objects) == 1 and found[0].startswith("line 2: not JSON") and found[1] == "line 3: not a JSON object"


def test_template_fields_include_multi_fields() -> None:
    fields = template_fields("task_health_template.json")
    assert fields["error_message"] == "text" and fields["error_message.keyword"] == "keyword"
    assert fields["process.memory_rss_bytes"] == "long" and fields["airflow.logical_date"] == "date"


def test_kql_subset_translation() -> None:
    query = 'event: "task_execution" and status: ("failed" or "up_for_retry") and not is_anomaly: true'
    assert kql_to_query(query) == {
        "bool": {
            "filter": [{"term": {"event": "task_execution"}}, {"terms": {"status": ["failed", "up_for_retry"]}}],
            "must_not": [{"term": {"is_anomaly": True}}],
        }
    }
    assert kql_to_query("") == {"bool": {"filter": [], "must_not": []}}
    for unsupported in ("status: failed*", "a: 1 or b: 2", "response_time > 3"):
        with pytest.raises(UnsupportedQuery):
            kql_to_query(unsupported)


def test_day_panels_are_not_cut_by_the_dashboard_time_range() -> None:
    """A histogram over another date field than the data view's time field keeps backfilled days
    older than the dashboard's range (Lens filters such a field by the range unless told not to)."""
    objects = saved_objects()
    time_fields = {o["id"]: o["attributes"]["timeFieldName"] for o in objects if o["type"] == "index-pattern"}
    boards = [o["id"] for o in objects if o["type"] == "dashboard"]
    checked = 0
    for panel in (p for board in boards for p in panels_of(objects, board)):
        view = lens(panel)["references"][0]["id"]
        for column in columns(panel):
            if column["operationType"] == "date_histogram":
                other_field = column["sourceField"] != time_fields[view]
                assert column["params"].get("ignoreTimeRange", False) == other_field, column
                checked += other_field
    assert checked == 2, "the logical-date and processed-day panels"


@pytest.mark.parametrize(
    ("span", "interval"),
    [
        (timedelta(hours=1), {"fixed_interval": "1m"}),
        (timedelta(days=1), {"fixed_interval": "30m"}),
        (timedelta(days=7), {"fixed_interval": "3h"}),
        (timedelta(days=90), {"calendar_interval": "1w"}),
    ],
)
def test_an_auto_date_interval_keeps_the_range_to_the_bar_target(span, interval) -> None:
    from include.kibana.queries import DATE_BARS, ROUND_INTERVALS, auto_date_interval

    assert auto_date_interval(span) == interval
    lengths = dict(ROUND_INTERVALS)
    chosen = lengths[next(iter(interval.values()))]
    assert span / chosen <= DATE_BARS
    shorter = [length for length in lengths.values() if length < chosen]
    assert not shorter or span / max(shorter) > DATE_BARS, "the shortest interval that fits"
