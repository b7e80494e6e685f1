"""Lens visualizations in Kibana's current `formBased` shape, from a small declarative spec.

Kibana does not validate Lens state on import (a wrong shape imports and fails only when the
panel renders), so the shapes live in one place: the column builders and `lens_attributes`.
The facts they follow are in `shared/KIBANA.md`; `validate.py` checks the result offline and
`queries.py` runs each panel's equivalent aggregation against Elasticsearch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

RECORDS = "___records___"
METRIC_OPERATIONS = {"count", "average", "sum", "min", "max", "median", "unique_count", "last_value"}
BUCKET_OPERATIONS = {"date_histogram", "terms", "range"}
VISUALIZATION_TYPES = {
    "bar_stacked": "lnsXY",
    "bar": "lnsXY",
    "line": "lnsXY",
    "area": "lnsXY",
    "heatmap": "lnsHeatmap",
    "table": "lnsDatatable",
}


@dataclass(frozen=True)
class Column:
    """One Lens column; `source_field` is None only for `count`."""

    operation: str
    source_field: str | None
    label: str
    data_type: str = "number"
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def bucketed(self) -> bool:
        return self.operation in BUCKET_OPERATIONS

    def state(self, order_column_id: str | None = None) -> dict[str, Any]:
        """The column as Lens stores it; `terms` buckets are ordered by `order_column_id`."""
        scale = {"date_histogram": "interval", "range": "interval", "terms": "ordinal"}.get(self.operation)
        if scale is None:  # Lens: metrics are ratio (a max over a date too), a last value of text ordinal
            scale = "ordinal" if self.operation == "last_value" and self.data_type != "number" else "ratio"
        params = dict(self.params)
        if self.operation == "terms":
            order = {"type": "column", "columnId": order_column_id} if order_column_id else {"type": "alphabetical"}
            params = {"orderBy": order, "orderDirection": "desc" if order_column_id else "asc", **params}
        return {
            "label": self.label,
            "customLabel": True,
            "dataType": self.data_type,
            "operationType": self.operation,
            "sourceField": self.source_field or RECORDS,
            "isBucketed": self.bucketed,
            "scale": scale,
            "params": params,
        }


def date_histogram(
    source: str = "@timestamp", interval: str = "auto", label: str | None = None, *, other_date: bool = False
) -> Column:
    """`other_date`: the field is not the data view's time field (a run's logical date, the
    processed day). Lens would then also filter it by the dashboard's time range and hide a
    backfilled day older than the range; `ignoreTimeRange` keeps the filter on the time field."""
    params: dict[str, Any] = {"interval": interval, "includeEmptyRows": False, "dropPartials": False}
    if other_date:
        params["ignoreTimeRange"] = True
    return Column("date_histogram", source, label or source, "date", params)


def terms(source: str, size: int = 10, label: str | None = None, data_type: str = "string") -> Column:
    params = {"size": size, "otherBucket": True, "missingBucket": False, "parentFormat": {"id": "terms"}}
    return Column("terms", source, label or f"Top values of {source}", data_type, params)


def histogram(source: str, label: str | None = None) -> Column:
    """A numeric histogram (Lens: `range` in histogram mode, automatic bar width)."""
    params = {"type": "histogram", "maxBars": "auto", "ranges": [{"from": 0, "to": 1000, "label": ""}]}
    return Column("range", source, label or source, "number", params)


def count(label: str = "Count") -> Column:
    return Column("count", None, label, "number", {"emptyAsNull": True})


def metric(operation: str, source: str, label: str) -> Column:
    if operation not in METRIC_OPERATIONS - {"count", "last_value"}:
        raise ValueError(f"{operation!r} is not a Lens metric operation with a number field")
    return Column(operation, source, label, "number", {"emptyAsNull": True})


def newest(source: str, label: str) -> Column:
    """The latest date in the bucket (Lens `max` over a date field)."""
    return Column("max", source, label, "date", {"emptyAsNull": True})


def last_value(source: str, label: str, data_type: str = "string", sort_field: str = "@timestamp") -> Column:
    params = {
        "sortField": sort_field,
        "showArrayValues": False,
        # As Lens's editor sets it: the latest document *with* the field, not an empty cell.
        "filter": {"language": "kuery", "query": f'"{source}": *'},
    }
    return Column("last_value", source, label, data_type, params)


@dataclass(frozen=True)
class Panel:
    """A by-value Lens panel: bucket columns first (x, then split), then metrics."""

    key: str
    title: str
    data_view_id: str
    chart: str
    columns: list[Column]
    query: str = ""
    width: int = 24
    height: int = 12
    order_by: int | None = None  # index of the metric column terms buckets are ordered by
    description: str = ""

    @property
    def layer_id(self) -> str:
        return "layer-" + re.sub(r"[^a-z0-9]+", "-", self.key.lower()).strip("-")

    def column_ids(self) -> list[str]:
        return [f"{self.key}-c{i}" for i in range(len(self.columns))]


def _visualization(panel: Panel, ids: list[str]) -> dict[str, Any]:
    buckets = [i for i, c in zip(ids, panel.columns, strict=True) if c.bucketed]
    metrics = [i for i, c in zip(ids, panel.columns, strict=True) if not c.bucketed]
    layer = {"layerId": panel.layer_id, "layerType": "data"}
    if panel.chart == "table":
        return {**layer, "columns": [{"columnId": i} for i in ids]}
    if panel.chart == "heatmap":
        return {
            **layer,
            "shape": "heatmap",
            "xAccessor": buckets[0],
            "yAccessor": buckets[1],
            "valueAccessor": metrics[0],
            "gridConfig": {
                "type": "heatmap_grid",
                "isCellLabelVisible": False,
                "isYAxisLabelVisible": True,
                "isXAxisLabelVisible": True,
                "isYAxisTitleVisible": True,
                "isXAxisTitleVisible": True,
            },
            "legend": {"isVisible": True, "position": "right", "type": "heatmap_legend"},
        }
    xy_layer = {**layer, "seriesType": panel.chart, "xAccessor": buckets[0], "accessors": metrics}
    if len(buckets) > 1:
        xy_layer["splitAccessor"] = buckets[1]
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "preferredSeriesType": panel.chart,
        "layers": [xy_layer],
    }


def lens_attributes(panel: Panel) -> dict[str, Any]:
    """The Lens saved-object attributes of `panel` (with its data-view reference)."""
    if panel.chart not in VISUALIZATION_TYPES:
        raise ValueError(f"{panel.key}: unknown chart {panel.chart!r}")
    ids = panel.column_ids()
    order_id = ids[panel.order_by] if panel.order_by is not None else None
    columns = {i: c.state(order_id) for i, c in zip(ids, panel.columns, strict=True)}
    return {
        "title": panel.title,
        "description": panel.description,
        "visualizationType": VISUALIZATION_TYPES[panel.chart],
        "state": {
            "datasourceStates": {
                "formBased": {
                    "layers": {panel.layer_id: {"columns": columns, "columnOrder": ids, "incompleteColumns": {}}}
                }
            },
            "visualization": _visualization(panel, ids),
            "query": {"language": "kuery", "query": panel.query},
            "filters": [],
            "internalReferences": [],
            "adHocDataViews": {},
        },
        "references": [
            {
                "type": "index-pattern",
                "id": panel.data_view_id,
                "name": f"indexpattern-datasource-layer-{panel.layer_id}",
            }
        ],
    }
