"""Each Lens panel as the Elasticsearch search Kibana would run for it, so tests can prove a
panel has data: its KQL query as a bool filter, its bucket columns as nested aggregations (in
column order), its metrics inside the innermost bucket.

The dashboard's time range applies to the data view's time field only (day histograms over
another date field set `ignoreTimeRange`, so nothing filters them). Approximations, stated: an
"auto" date interval becomes one day (or, given the time range's span, the shortest round
interval that keeps it to DATE_BARS bars) and an automatic numeric histogram 20 bars.

Panels use a small KQL subset — `field: value`, `field: (a or b)`, `not …`, joined by `and` —
which `kql_to_query` translates exactly and refuses otherwise (the validator runs it on every
panel, so a query the translation would get wrong cannot ship).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, TypeAlias

from include.kibana.lens import RECORDS

CLAUSE = re.compile(r"^(?P<not>not\s+)?(?P<field>[\w.@]+)\s*:\s*(?P<value>.+)$")
VALUE = r'"[^"]*"|true|false|-?\d+(?:\.\d+)?'
GROUP = re.compile(rf"^\(\s*(?P<values>(?:{VALUE})(?:\s+or\s+(?:{VALUE}))*)\s*\)$")
METRIC_AGGS = {"average": "avg", "sum": "sum", "min": "min", "max": "max", "unique_count": "cardinality"}
AUTO_DATE_INTERVAL = "1d"
DATE_BARS = 60
# Round intervals, shortest first: (ES interval, its length). From a week on they are calendar
# intervals (weeks, months, years vary); below, fixed ones.
ROUND_INTERVALS = [
    ("1m", timedelta(minutes=1)), ("5m", timedelta(minutes=5)), ("10m", timedelta(minutes=10)),
    ("30m", timedelta(minutes=30)), ("1h", timedelta(hours=1)), ("3h", timedelta(hours=3)),
    ("12h", timedelta(hours=12)), ("1d", timedelta(days=1)), ("1w", timedelta(weeks=1)),
    ("1M", timedelta(days=30)), ("1y", timedelta(days=365)),
]  # fmt: skip
HISTOGRAM_BARS = 20
Value: TypeAlias = str | bool | int | float  # a KQL value in the subset (VALUE)


class UnsupportedQuery(ValueError):
    """A panel's KQL is outside the subset this module translates exactly."""


def _value(text: str) -> Value:
    if text.startswith('"'):
        return text[1:-1]
    if text in {"true", "false"}:
        return text == "true"
    number: int | float = json.loads(text)  # VALUE leaves only a number here
    return number


def kql_clauses(kql: str) -> list[tuple[bool, str, list[Value]]]:
    """[(negated, field, values)] of a KQL query in the supported subset."""
    clauses: list[tuple[bool, str, list[Value]]] = []
    for part in re.split(r"\s+and\s+", kql.strip()) if kql.strip() else []:
        match = CLAUSE.match(part.strip())
        if not match:
            raise UnsupportedQuery(f"cannot translate KQL clause {part!r}")
        raw = match["value"].strip()
        group = GROUP.match(raw)
        if group:
            values = [_value(v) for v in re.findall(VALUE, group["values"])]
        elif re.fullmatch(VALUE, raw):
            values = [_value(raw)]
        else:
            raise UnsupportedQuery(f"cannot translate KQL value {raw!r} in {part!r}")
        clauses.append((bool(match["not"]), match["field"], values))
    return clauses


def kql_to_query(kql: str) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    exclusions: list[dict[str, Any]] = []
    for negated, field, values in kql_clauses(kql):
        term = {"term": {field: values[0]}} if len(values) == 1 else {"terms": {field: values}}
        (exclusions if negated else filters).append(term)
    return {"bool": {"filter": filters, "must_not": exclusions}}


def _metric_agg(column: dict[str, Any]) -> dict[str, Any] | None:
    operation, field = column["operationType"], column["sourceField"]
    if operation == "count":
        return None
    if operation in METRIC_AGGS:
        return {METRIC_AGGS[operation]: {"field": field}}
    if operation == "median":
        return {"percentiles": {"field": field, "percents": [50]}}
    if operation == "last_value":
        sort_field = column["params"]["sortField"]
        top = {"size": 1, "sort": [{sort_field: "desc"}], "fields": [field], "_source": False}
        return {"filter": {"exists": {"field": field}}, "aggs": {"last": {"top_hits": top}}}
    raise ValueError(f"no aggregation for Lens operation {operation!r}")


def auto_date_interval(span: timedelta) -> dict[str, str]:
    """The date histogram interval of an "auto" column over a time range of `span`: the
    shortest round interval that keeps it to DATE_BARS bars (Kibana aims at about 50 bars and
    takes the nearest round interval: close to this, not the same)."""
    interval, length = next(((i, n) for i, n in ROUND_INTERVALS if span / n <= DATE_BARS), ROUND_INTERVALS[-1])
    return {"calendar_interval" if length >= timedelta(weeks=1) else "fixed_interval": interval}


def _bucket_agg(
    column: dict[str, Any],
    metric_names: dict[str, str],
    histogram_interval: float | None,
    auto_date: dict[str, str],
) -> dict[str, Any]:
    operation, field, params = column["operationType"], column["sourceField"], column["params"]
    if operation == "date_histogram":
        interval = params.get("interval", "auto")
        chosen = auto_date if interval == "auto" else {"calendar_interval": interval}
        return {"date_histogram": {"field": field, **chosen}}
    if operation == "terms":
        agg: dict[str, Any] = {"field": field, "size": params["size"]}
        order = params.get("orderBy", {})
        if order.get("type") == "column":
            agg["order"] = {metric_names.get(order["columnId"], "_count"): params["orderDirection"]}
        else:  # Lens orders by the values themselves
            agg["order"] = {"_key": params.get("orderDirection", "asc")}
        return {"terms": agg}
    if operation == "range" and params.get("type") == "histogram":
        return {"histogram": {"field": field, "interval": histogram_interval or 1.0}}
    raise ValueError(f"no aggregation for Lens bucket operation {operation!r}")


def only_layer(attributes: dict[str, Any]) -> dict[str, Any]:
    """The panel's one formBased layer (every project panel has exactly one)."""
    layer: dict[str, Any]
    (layer,) = attributes["state"]["datasourceStates"]["formBased"]["layers"].values()
    return layer


def panel_search(
    attributes: dict[str, Any],
    histogram_interval: float | None = None,
    time_range: dict[str, Any] | None = None,
    auto_date: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The search body (query + aggs) for one Lens panel's single layer; `time_range`
    ({field: {"gte": …, "lte": …}}) is the dashboard's time filter on the data view's time field;
    `auto_date` the interval of "auto" date columns (`auto_date_interval`; default one day)."""
    layer = only_layer(attributes)
    columns = [(cid, layer["columns"][cid]) for cid in layer["columnOrder"]]
    metrics = {cid: _metric_agg(c) for cid, c in columns if not c["isBucketed"]}
    metric_aggs = {cid: agg for cid, agg in metrics.items() if agg is not None}  # `count` needs none
    orderable = {cid: cid for cid, agg in metric_aggs.items() if next(iter(agg)) in METRIC_AGGS.values()}
    aggs = metric_aggs
    for cid, column in reversed([(cid, c) for cid, c in columns if c["isBucketed"]]):
        bucket = _bucket_agg(
            column, orderable, histogram_interval, auto_date or {"calendar_interval": AUTO_DATE_INTERVAL}
        )
        order_by = column["params"].get("orderBy", {}).get("columnId")
        if order_by in orderable:  # ES orders by a direct sub-aggregation only
            aggs = {**aggs, order_by: metric_aggs[order_by]}
        aggs = {cid: {**bucket, **({"aggs": aggs} if aggs else {})}}
    query = kql_to_query(attributes["state"]["query"]["query"])
    if time_range:
        query["bool"]["filter"].append({"range": time_range})
    return {"size": 0, "query": query, "aggs": aggs}


def histogram_field(attributes: dict[str, Any]) -> str | None:
    """The field of an automatic numeric histogram, whose bar width comes from the data's range."""
    layer = only_layer(attributes)
    for column in layer["columns"].values():
        if column["operationType"] == "range" and column["params"].get("maxBars") == "auto":
            field: str = column["sourceField"]
            return field
    return None


def auto_interval(low: float | None, high: float | None) -> float:
    """Bar width for `HISTOGRAM_BARS` bars over [low, high], as Lens's automatic histogram does."""
    if low is None or high is None or high <= low:
        return 1.0
    return (high - low) / HISTOGRAM_BARS


def metric_ids(attributes: dict[str, Any]) -> list[str]:
    layer = only_layer(attributes)
    return [cid for cid in layer["columnOrder"] if not layer["columns"][cid]["isBucketed"]]


def last_values(bucket: dict[str, Any], cid: str) -> list[Any]:
    """The value(s) of a `last_value` column in one bucket ([] when no document has the field)."""
    hits = bucket.get(cid, {}).get("last", {}).get("hits", {}).get("hits", [])
    return [value for hit in hits for values in hit.get("fields", {}).values() for value in values]


def _has_value(bucket: dict[str, Any], cid: str) -> bool:
    agg = bucket.get(cid)
    if agg is None:
        return False
    if "last" in agg:
        return bool(last_values(bucket, cid))
    if "values" in agg:
        return any(v is not None for v in agg["values"].values())
    return agg.get("value") is not None


def bucket_paths(response: dict[str, Any], attributes: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The innermost buckets with documents, down the panel's bucket columns, each with the keys
    on its way down ({column id: key, as Kibana prints it}). A search of no index has no
    aggregations at all: no buckets."""
    layer = only_layer(attributes)
    bucket_ids = [cid for cid in layer["columnOrder"] if layer["columns"][cid]["isBucketed"]]
    paths: list[tuple[dict[str, Any], dict[str, Any]]] = [({}, response.get("aggregations", {}))]
    for cid in bucket_ids:
        paths = [
            ({**keys, cid: b.get("key_as_string", b["key"])}, b)
            for keys, parent in paths
            for b in parent.get(cid, {}).get("buckets", [])
            if b["doc_count"] > 0
        ]
    return paths


def leaf_buckets(response: dict[str, Any], attributes: dict[str, Any]) -> list[dict[str, Any]]:
    """The innermost buckets with documents, down the panel's bucket columns."""
    return [bucket for _, bucket in bucket_paths(response, attributes)]


def empty_metrics(response: dict[str, Any], attributes: dict[str, Any]) -> list[str]:
    """Metric columns (ids) with no value in any bucket; `count` always has one."""
    layer = only_layer(attributes)
    leaves = leaf_buckets(response, attributes)
    missing = []
    for cid in metric_ids(attributes):
        if layer["columns"][cid]["sourceField"] == RECORDS:
            continue
        if not any(_has_value(leaf, cid) for leaf in leaves):
            missing.append(cid)
    return missing
