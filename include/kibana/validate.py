"""Offline validation of the saved objects, since Kibana checks little on import and cannot run
here: envelopes and version strings, every `…JSON` string, the dashboard grid, every reference
resolving inside the set, and every Lens column against the index templates (the field exists,
its type suits the operation). The facts come from `shared/KIBANA.md`.

`validate(objects, fields_by_view)` returns the problems as readable lines; none means valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeAlias

from include.kibana.lens import BUCKET_OPERATIONS, METRIC_OPERATIONS, RECORDS
from include.kibana.queries import UnsupportedQuery, kql_clauses

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "elasticsearch"
ENVELOPE_KEYS = {"type", "id", "attributes", "references", "coreMigrationVersion", "typeMigrationVersion", "managed"}
TYPE_MIGRATION_VERSIONS = {"index-pattern": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}
DASHBOARD_KEYS = {
    "title",
    "description",
    "panelsJSON",
    "optionsJSON",
    "timeRestore",
    "timeFrom",
    "timeTo",
    "refreshInterval",
    "kibanaSavedObjectMeta",
}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
AGGREGATABLE = NUMERIC | {"keyword", "date", "boolean", "ip"}
FIELD_TYPES_FOR = {
    "date_histogram": {"date"},
    "terms": AGGREGATABLE - {"date"},
    "range": NUMERIC,
    "average": NUMERIC,
    "sum": NUMERIC,
    "median": NUMERIC,
    "min": NUMERIC | {"date"},
    "max": NUMERIC | {"date"},
    "unique_count": AGGREGATABLE,
    "last_value": AGGREGATABLE,
}
DATA_TYPES = {"string": {"keyword", "ip"}, "number": NUMERIC, "date": {"date"}, "boolean": {"boolean"}}
VISUALIZATIONS = {"lnsXY", "lnsDatatable", "lnsHeatmap"}
VISUALIZATION_SHAPES: dict[str, Callable[[dict[str, Any]], bool]] = {
    "lnsXY": lambda v: isinstance(v.get("layers"), list) and "preferredSeriesType" in v,
    "lnsDatatable": lambda v: isinstance(v.get("columns"), list),
    "lnsHeatmap": lambda v: v.get("shape") == "heatmap",
}
SERIES_TYPES = {
    "bar",
    "bar_stacked",
    "bar_percentage_stacked",
    "bar_horizontal",
    "bar_horizontal_stacked",
    "bar_horizontal_percentage_stacked",
    "line",
    "area",
    "area_stacked",
    "area_percentage_stacked",
}
ACCESSOR_KINDS = {
    "xAccessor": True,
    "splitAccessor": True,
    "yAccessor": True,
    "valueAccessor": False,
}
ORDERABLE = {"count", "average", "sum", "min", "max", "unique_count"}
SCALES = {"ordinal", "interval", "ratio"}
# Kibana's own facts (shared/KIBANA.md), kept here rather than imported from dashboards.py so the
# validator checks the generator instead of agreeing with it by construction.
GRID_COLUMNS = 48
Fields: TypeAlias = dict[str, str]  # {field path: type} of one index template
FieldsByView: TypeAlias = dict[str, Fields]  # by data view id


def template_fields(file_name: str) -> Fields:
    """{field path: type} of an index template, multi-fields included (`error_message.keyword`)."""
    body = json.loads((TEMPLATE_DIR / file_name).read_text())

    def walk(properties: dict[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
        for name, spec in properties.items():
            path = f"{prefix}{name}"
            if "properties" in spec:
                yield from walk(spec["properties"], f"{path}.")
                continue
            yield path, spec.get("type", "object")
            for sub, sub_spec in spec.get("fields", {}).items():
                yield f"{path}.{sub}", sub_spec["type"]

    return dict(walk(body["template"]["mappings"]["properties"], ""))


def project_fields_by_view() -> FieldsByView:
    from include.kibana.dashboards import ANOMALIES_VIEW, TASK_HEALTH_VIEW, TASK_LOGS_VIEW

    return {
        TASK_HEALTH_VIEW: template_fields("task_health_template.json"),
        ANOMALIES_VIEW: template_fields("anomalies_template.json"),
        TASK_LOGS_VIEW: template_fields("airflow_logs_template.json"),
    }


def parse_ndjson(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    objects: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(f"line {number}: not JSON ({err})")
            continue
        if isinstance(value, dict):
            objects.append(value)
        else:
            problems.append(f"line {number}: not a JSON object")
    return objects, problems


def _json_string(owner: str, name: str, value: object, problems: list[str]) -> Any:
    if not isinstance(value, str):
        problems.append(f"{owner}: {name} must be a JSON string, got {type(value).__name__}")
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        problems.append(f"{owner}: {name} does not parse ({err})")
        return None


def _check_column(owner: str, cid: str, column: dict[str, Any], fields: Fields, problems: list[str]) -> None:
    operation, field = column.get("operationType"), column.get("sourceField")
    where = f"{owner}: column {cid}"
    if not column.get("label") or column.get("scale") not in SCALES:
        problems.append(f"{where}: needs a label and a scale in {sorted(SCALES)}")
    if operation not in BUCKET_OPERATIONS | METRIC_OPERATIONS:
        problems.append(f"{where}: unknown operation {operation!r}")
        return
    if column.get("isBucketed") != (operation in BUCKET_OPERATIONS):
        problems.append(f"{where}: isBucketed does not match operation {operation}")
    if operation == "count":
        if field != RECORDS:
            problems.append(f"{where}: count must use sourceField {RECORDS}")
        return
    if field not in fields:
        problems.append(f"{where}: field {field!r} is not in the index template")
        return
    if fields[field] not in FIELD_TYPES_FOR[operation]:
        problems.append(f"{where}: {operation} cannot use {field} of type {fields[field]}")
    if fields[field] not in DATA_TYPES.get(column.get("dataType", ""), set()):
        problems.append(f"{where}: dataType {column.get('dataType')!r} does not fit {field} ({fields[field]})")
    params = column.get("params", {})
    if operation == "last_value" and fields.get(params.get("sortField")) != "date":
        problems.append(f"{where}: last_value needs a date sortField, got {params.get('sortField')!r}")


def _visual_layers(visualization: object) -> list[dict[str, Any]]:
    if not isinstance(visualization, dict):
        return []
    layers: list[dict[str, Any]] = visualization.get("layers", [visualization])
    return layers


def _accessors(layer: dict[str, Any]) -> Iterator[tuple[str, bool | None]]:
    """(column id, must it be a bucket: True / a metric: False / either: None) for one layer."""
    for key, bucket in ACCESSOR_KINDS.items():
        if layer.get(key):
            yield layer[key], bucket
    yield from ((cid, False) for cid in layer.get("accessors", []))
    yield from ((c.get("columnId"), None) for c in layer.get("columns", []))


def _check_visualization(owner: str, attributes: dict[str, Any], layers: dict[str, Any], problems: list[str]) -> None:
    """The chart's state matches its type, and every accessor is a column of the right kind."""
    kind, visualization = attributes.get("visualizationType"), attributes["state"].get("visualization", {})
    if kind in VISUALIZATION_SHAPES and not VISUALIZATION_SHAPES[kind](visualization):
        problems.append(f"{owner}: the visualization state is not the shape of a {kind}")
    for layer in _visual_layers(visualization):
        layer_id = layer.get("layerId")
        if layer_id not in layers:
            problems.append(f"{owner}: visualization layer {layer_id!r} is not a datasource layer")
            continue
        if layer.get("layerType") != "data":
            problems.append(f"{owner}: layer {layer_id} has layerType {layer.get('layerType')!r}, expected 'data'")
        if kind == "lnsXY" and layer.get("seriesType") not in SERIES_TYPES:
            problems.append(f"{owner}: unknown seriesType {layer.get('seriesType')!r}")
        columns = layers[layer_id].get("columns", {})
        for cid, bucket in _accessors(layer):
            if cid not in columns:
                problems.append(f"{owner}: visualization uses missing column {cid}")
            elif bucket is not None and columns[cid].get("isBucketed") != bucket:
                problems.append(f"{owner}: {cid} must be a {'bucket' if bucket else 'metric'} column")


def check_lens(
    owner: str, attributes: dict[str, Any], references: list[dict[str, Any]], views: FieldsByView, problems: list[str]
) -> None:
    """A by-value or stand-alone Lens visualization; `references` are its own (unprefixed)."""
    if attributes.get("visualizationType") not in VISUALIZATIONS:
        problems.append(f"{owner}: unknown visualizationType {attributes.get('visualizationType')!r}")
    state = attributes.get("state", {})
    layers = state.get("datasourceStates", {}).get("formBased", {}).get("layers")
    if not layers:
        problems.append(f"{owner}: no formBased layers")
        return
    ref_by_name = {r.get("name"): r for r in references}
    for layer_id, layer in layers.items():
        ref = ref_by_name.get(f"indexpattern-datasource-layer-{layer_id}")
        if ref is None or ref.get("type") != "index-pattern":
            problems.append(f"{owner}: layer {layer_id} has no index-pattern reference")
        elif ref.get("id") not in views:
            problems.append(f"{owner}: layer {layer_id} references data view {ref.get('id')!r}, not in the set")
        else:
            _check_layer(f"{owner}: layer {layer_id}", layer, views[ref["id"]], problems)
            _check_query(owner, state.get("query", {}), views[ref["id"]], problems)
    _check_visualization(owner, attributes, layers, problems)


def _check_layer(owner: str, layer: dict[str, Any], fields: Fields, problems: list[str]) -> None:
    columns = layer.get("columns", {})
    order = layer.get("columnOrder", [])
    if sorted(order) != sorted(columns) or len(order) != len(set(order)):
        problems.append(f"{owner}: columnOrder {order} does not match columns {list(columns)}")
    if layer.get("incompleteColumns"):
        problems.append(f"{owner}: incomplete columns")
    for cid, column in columns.items():
        _check_column(owner, cid, column, fields, problems)
        target = column.get("params", {}).get("orderBy", {}).get("columnId")
        if target and columns.get(target, {}).get("operationType") not in ORDERABLE:
            problems.append(f"{owner}: column {cid} must be ordered by a single-value metric column, not {target}")


def _check_query(owner: str, query: dict[str, Any], fields: Fields, problems: list[str]) -> None:
    if query.get("language") != "kuery":
        problems.append(f"{owner}: query language must be kuery")
        return
    try:
        clauses = kql_clauses(query.get("query", ""))
    except UnsupportedQuery as err:
        problems.append(f"{owner}: {err}")
        return
    for _, field, _ in clauses:
        if field not in fields:
            problems.append(f"{owner}: query field {field!r} is not in the index template")
        elif fields[field] == "text":
            problems.append(f"{owner}: query field {field!r} is text: a term match would not be what KQL does")


def _fits(grid: dict[str, Any]) -> bool:
    if not all(isinstance(grid.get(k), int) for k in ("x", "y", "w", "h")):
        return False
    return bool(grid["w"] > 0 and grid["h"] > 0 and grid["y"] >= 0 and 0 <= grid["x"] <= GRID_COLUMNS - grid["w"])


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    apart_x = a["x"] >= b["x"] + b["w"] or b["x"] >= a["x"] + a["w"]
    apart_y = a["y"] >= b["y"] + b["h"] or b["y"] >= a["y"] + a["h"]
    return not (apart_x or apart_y)


def check_dashboard(
    owner: str, obj: dict[str, Any], views: FieldsByView, ids: set[tuple[object, object]], problems: list[str]
) -> None:
    attributes = obj["attributes"]
    unknown = set(attributes) - DASHBOARD_KEYS
    if unknown:
        problems.append(f"{owner}: unknown attribute(s) {sorted(unknown)} (Kibana rejects them)")
    _json_string(owner, "optionsJSON", attributes.get("optionsJSON"), problems)
    search = attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    _json_string(owner, "kibanaSavedObjectMeta.searchSourceJSON", search, problems)
    panels = _json_string(owner, "panelsJSON", attributes.get("panelsJSON"), problems) or []
    references = obj.get("references", [])
    used_refs: set[str] = set()
    grids: dict[object, dict[str, Any]] = {}
    for panel in panels:
        index = panel.get("panelIndex")
        own = [
            {**r, "name": r["name"][len(index) + 1 :]} for r in references if r.get("name", "").startswith(f"{index}:")
        ]
        used_refs.update(f"{index}:{r['name']}" for r in own)
        _check_panel(f"{owner}: panel {index}", panel, own, grids, views, problems)
    for ref in references:
        if (ref.get("type"), ref.get("id")) not in ids:
            problems.append(f"{owner}: reference {ref.get('name')} -> {ref.get('type')}/{ref.get('id')} not in the set")
        if ref.get("name") not in used_refs:
            problems.append(f"{owner}: reference {ref.get('name')} belongs to no panel")


def _canonical(references: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in references)


def _check_panel(
    where: str,
    panel: dict[str, Any],
    own: list[dict[str, Any]],
    grids: dict[object, dict[str, Any]],
    views: FieldsByView,
    problems: list[str],
) -> None:
    """One dashboard panel: its place on the grid, and its Lens or its reference."""
    index, grid = panel.get("panelIndex"), panel.get("gridData", {})
    if grid.get("i") != index:
        problems.append(f"{where}: gridData.i {grid.get('i')!r} differs from panelIndex")
    if index in grids:
        problems.append(f"{where}: duplicate panelIndex")
    if not _fits(grid):
        problems.append(f"{where}: gridData {grid} does not fit the {GRID_COLUMNS}-column grid")
    elif any(_overlaps(grid, other) for other in grids.values()):
        problems.append(f"{where}: overlaps another panel")
    grids[index] = grid
    embedded = panel.get("embeddableConfig", {}).get("attributes")
    if panel.get("type") == "lens" and embedded is not None:
        if _canonical(embedded.get("references", [])) != _canonical(own):
            problems.append(f"{where}: the panel's references are not hoisted to the dashboard as {index}:<name>")
        check_lens(where, embedded, own, views, problems)
    elif panel.get("panelRefName"):
        if not any(r["name"] == panel["panelRefName"] for r in own):
            problems.append(f"{where}: panelRefName {panel['panelRefName']!r} has no reference")
    else:
        problems.append(f"{where}: neither a by-value Lens panel nor a panel reference")


def validate(objects: list[dict[str, Any]], fields_by_view: FieldsByView) -> list[str]:
    problems: list[str] = []
    ids: set[tuple[object, object]] = {(o.get("type"), o.get("id")) for o in objects}
    if len(ids) != len(objects):
        problems.append("duplicate (type, id) in the set")
    views: FieldsByView = {}
    for obj in objects:
        _check_envelope(obj, problems)
        if obj.get("type") == "index-pattern":
            _check_data_view(obj, fields_by_view, views, problems)
    for obj in objects:
        owner = f"{obj.get('type')}/{obj.get('id')}"
        if obj.get("type") == "dashboard":
            check_dashboard(owner, obj, views, ids, problems)
        elif obj.get("type") == "lens":
            check_lens(owner, obj.get("attributes", {}), obj.get("references", []), views, problems)
    return problems


def _check_envelope(obj: dict[str, Any], problems: list[str]) -> None:
    owner = f"{obj.get('type')}/{obj.get('id')}"
    if set(obj) != ENVELOPE_KEYS:
        problems.append(f"{owner}: envelope keys {sorted(obj)} differ from {sorted(ENVELOPE_KEYS)}")
    expected = TYPE_MIGRATION_VERSIONS.get(obj.get("type", ""))
    if expected is None:
        problems.append(f"{owner}: unsupported type")
    elif obj.get("typeMigrationVersion") != expected:
        problems.append(f"{owner}: typeMigrationVersion {obj.get('typeMigrationVersion')!r}, expected {expected}")


def _check_data_view(
    obj: dict[str, Any], fields_by_view: FieldsByView, views: FieldsByView, problems: list[str]
) -> None:
    owner = f"index-pattern/{obj.get('id')}"
    fields = fields_by_view.get(obj.get("id", ""))
    if fields is None:
        problems.append(f"{owner}: no index template known for this data view")
        return
    views[obj["id"]] = fields
    attributes = obj.get("attributes", {})
    if fields.get(attributes.get("timeFieldName")) != "date":
        problems.append(f"{owner}: time field {attributes.get('timeFieldName')!r} is not a date field")
    formats = _json_string(owner, "fieldFormatMap", attributes.get("fieldFormatMap", "{}"), problems) or {}
    problems += [f"{owner}: format for unknown field {f!r}" for f in formats if f not in fields]
