"""The Kibana dashboards' panels as data a page or a report can draw, from the one definition.

Each Lens panel of the "task health" and "model runs" dashboards (`include/kibana/dashboards.py`)
runs as the search Kibana would make for it (`include/kibana/queries.py`), over a time range on
its data view's time field and the Airflow filters a page is opened with, and comes back as a
table: one row per innermost bucket, one column per Lens column, in the panel's column order.
A page, a static report and the tests all read these rows, so what they show is what Kibana
would show, and a panel changed for Kibana changes everywhere.

Every search is bounded (client timeout and the cluster's own `timeout`), and a cluster that is
down or refuses the search gives a panel in state `unavailable` with a sentence saying so, never
an exception: a page must still load when Elasticsearch does not.

A scope may carry the DAGs its reader may read (`readable_dags`, from Airflow's auth manager):
task-health panels then search those DAGs' documents only, and the anomalies panel, whose rows
all come from one DAG's runs, shows them only to a reader of that DAG (state `forbidden`).
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from include.anomaly.index import WRITER_DAG_ID
from include.delivery.shipper import describe
from include.kibana.dashboards import ANOMALIES_VIEW, TASK_HEALTH_VIEW, saved_objects
from include.kibana.queries import (
    auto_date_interval,
    auto_interval,
    bucket_paths,
    histogram_field,
    last_values,
    only_layer,
    panel_search,
)

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger(__name__)

SEARCH_TIMEOUT_S = 5.0  # per panel: the page must be usable within seconds, whatever the cluster does
# The Airflow filters each data view can apply, as its document fields. The anomalies index only
# knows the run, so a task filter leaves it unfiltered, and the panel says so; its DAG is known
# (WRITER_DAGS): a filter on that DAG keeps every row, on another DAG none.
FILTER_FIELDS: dict[str, dict[str, str]] = {
    TASK_HEALTH_VIEW: {
        "dag_id": "airflow.dag_id",
        "run_id": "airflow.run_id",
        "task_id": "airflow.task_id",
        "map_index": "airflow.map_index",
    },
    ANOMALIES_VIEW: {"run_id": "run_id"},
}
PARALLEL_SEARCHES = 8
UNREACHABLE = "Elasticsearch is not reachable: no data for this panel."
WRITER_DAGS: dict[str, str] = {ANOMALIES_VIEW: WRITER_DAG_ID}  # data views without a DAG field
DAG_FIELD = "dag_id"
State = Literal["ok", "empty", "unavailable", "forbidden"]


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: its Lens attributes and the index and time field of its data view."""

    dashboard: str
    key: str
    title: str
    chart: str  # what Lens draws: bar_stacked, line, heatmap or table (`chart_of`)
    index: str
    time_field: str
    filter_fields: dict[str, str]
    attributes: dict[str, Any]
    writer_dag: str | None = None  # the one DAG whose runs write the index, when it has no DAG field


@dataclass(frozen=True)
class Scope:
    """What a page shows: a time range and, optionally, one DAG, run, task or mapped index."""

    start: datetime
    end: datetime
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    readable_dags: frozenset[str] | None = None  # None: no restriction (a command, a test)

    def filters(self) -> dict[str, str | int]:
        named = {"dag_id": self.dag_id, "run_id": self.run_id, "task_id": self.task_id, "map_index": self.map_index}
        return {name: value for name, value in named.items() if value is not None}


@dataclass(frozen=True)
class PanelData:
    panel: Panel
    columns: list[str]
    rows: list[list[Any]]
    state: State
    message: str | None = None
    unfiltered: list[str] = field(default_factory=list)  # filters the panel's index cannot apply


def panels(index_prefix: str, anomalies_index: str) -> list[Panel]:
    """Every panel of the dashboards, for these index names, in dashboard order."""
    objects = saved_objects(index_prefix, anomalies_index)
    views = {o["id"]: o["attributes"] for o in objects if o["type"] == "index-pattern"}
    found = []
    for board in (o for o in objects if o["type"] == "dashboard"):
        dashboard = board["id"].removeprefix("airflow-anomaly-")
        for entry in json.loads(board["attributes"]["panelsJSON"]):
            attributes = entry["embeddableConfig"]["attributes"]
            view_id = attributes["references"][0]["id"]
            view = views[view_id]
            found.append(
                Panel(
                    dashboard=dashboard,
                    key=entry["panelIndex"].removeprefix(f"{dashboard}-").split("-", 1)[1],
                    title=attributes["title"],
                    chart=chart_of(attributes),
                    index=view["title"],
                    time_field=view["timeFieldName"],
                    filter_fields=FILTER_FIELDS[view_id],
                    attributes=attributes,
                    writer_dag=WRITER_DAGS.get(view_id),
                )
            )
    return found


def chart_of(attributes: dict[str, Any]) -> str:
    """What Kibana draws: an XY chart's series type, else the visualization itself."""
    kind = attributes["visualizationType"]
    if kind == "lnsXY":
        return str(attributes["state"]["visualization"]["preferredSeriesType"])
    return {"lnsHeatmap": "heatmap", "lnsDatatable": "table"}[kind]


def columns(panel: Panel) -> list[str]:
    layer = only_layer(panel.attributes)
    return [layer["columns"][cid]["label"] for cid in layer["columnOrder"]]


def _cell(column: dict[str, Any], cid: str, bucket: dict[str, Any]) -> Any:
    """A metric column's value in one innermost bucket, as Kibana shows it."""
    operation = column["operationType"]
    if operation == "count":
        return bucket["doc_count"]
    if operation == "last_value":
        values = last_values(bucket, cid)
        return values[0] if values else None
    agg = bucket.get(cid, {})
    if operation == "median":
        return next(iter(agg.get("values", {}).values()), None)
    return agg.get("value_as_string", agg.get("value"))  # a date (the newest event) as Kibana prints it


def _rows(panel: Panel, response: dict[str, Any]) -> list[list[Any]]:
    """One row per innermost bucket with documents: bucket keys and metric values, in column order."""
    layer = only_layer(panel.attributes)
    return [
        [keys[cid] if cid in keys else _cell(layer["columns"][cid], cid, leaf) for cid in layer["columnOrder"]]
        for keys, leaf in bucket_paths(response, panel.attributes)
    ]


def _query_filters(panel: Panel, scope: Scope) -> tuple[list[dict[str, Any]], list[str]] | None:
    """The scope's filters as query clauses, and the filters the index cannot apply; None when
    the scope leaves the panel nothing to show (its index's DAG is another than the one asked for)."""
    terms: list[dict[str, Any]] = []
    unfiltered: list[str] = []
    for name, value in scope.filters().items():
        if name == DAG_FIELD and panel.writer_dag is not None:
            if value != panel.writer_dag:
                return None
        elif name in panel.filter_fields:
            terms.append({"term": {panel.filter_fields[name]: value}})
        else:
            unfiltered.append(name)
    if scope.readable_dags is not None and DAG_FIELD in panel.filter_fields:
        terms.append({"terms": {panel.filter_fields[DAG_FIELD]: sorted(scope.readable_dags)}})
    return terms, unfiltered


def may_read(panel: Panel, scope: Scope) -> bool:
    """Whether the scope's reader may see the panel: a DAG-less index needs its writer DAG."""
    return scope.readable_dags is None or panel.writer_dag is None or panel.writer_dag in scope.readable_dags


def panel_data(
    es: Elasticsearch,
    panel: Panel,
    scope: Scope,
    timeout_s: float = SEARCH_TIMEOUT_S,
    down: threading.Event | None = None,
) -> PanelData:
    """The panel's rows over `scope`; never raises (state `unavailable`, with a sentence). Each of
    its (at most two) searches is bounded by `timeout_s`; a search the cluster did not finish in
    time, or on every shard, shows nothing rather than partial figures. `down`, shared by the
    panels of one page, is set by the first that finds the cluster unreachable: the others then
    answer at once instead of each waiting for its own timeout."""
    from elasticsearch import ApiError, TransportError

    labels = columns(panel)
    if not may_read(panel, scope):
        return PanelData(panel, labels, [], "forbidden", "You may not read the DAG whose runs write these rows.")
    filters = _query_filters(panel, scope)
    if filters is None:
        return PanelData(panel, labels, [], "empty", "These rows come from another DAG's runs.")
    terms, unfiltered = filters
    if down is not None and down.is_set():
        return PanelData(panel, labels, [], "unavailable", UNREACHABLE, unfiltered)
    # The range's own format: the anomalies' time field is a `strict_date`, which would refuse a time
    # of day. The end is excluded: a date-only end (`page.scope_of`) is the next day's midnight.
    bounds = {"gte": scope.start.isoformat(), "lt": scope.end.isoformat(), "format": "strict_date_optional_time"}
    time_range = {panel.time_field: bounds}
    bounded = es.options(request_timeout=timeout_s)
    limits: dict[str, Any] = {
        "timeout": f"{round(timeout_s * 1000)}ms",
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }
    query = panel_search(panel.attributes, None, time_range)["query"]
    query["bool"]["filter"].extend(terms)
    try:
        interval = None
        if (field_name := histogram_field(panel.attributes)) is not None:
            stats_aggs = {"range": {"stats": {"field": field_name}}}
            found = bounded.search(index=panel.index, size=0, query=query, aggs=stats_aggs, **limits).body
            _complete(found)
            stats = found.get("aggregations", {"range": {}})["range"]  # no index yet: no aggregations
            interval = auto_interval(stats.get("min"), stats.get("max"))
        auto_date = auto_date_interval(scope.end - scope.start)
        body = {**panel_search(panel.attributes, interval, time_range, auto_date), "query": query}
        response = _complete(bounded.search(index=panel.index, **body, **limits).body)
        rows = _rows(panel, response)
    except (ApiError, TransportError) as err:
        if not isinstance(err, ApiError) and down is not None:
            down.set()
        return PanelData(panel, labels, [], "unavailable", _unavailable(panel, err), unfiltered)
    except Incomplete as err:
        return PanelData(panel, labels, [], "unavailable", str(err), unfiltered)
    except Exception as err:  # a response this module cannot read: a sentence, the detail in the log
        log.warning("task-health panel %s: %s", panel.key, describe(err))
        return PanelData(panel, labels, [], "unavailable", f"This panel could not be drawn ({type(err).__name__}).")
    if not rows:
        return PanelData(panel, labels, [], "empty", "No documents in this time range and filter.", unfiltered)
    return PanelData(panel, labels, rows, "ok", None, unfiltered)


class Incomplete(Exception):
    """The cluster answered with part of the figures (a timeout, failed shards)."""


def _complete(response: dict[str, Any]) -> dict[str, Any]:
    shards = response.get("_shards", {})
    if response.get("timed_out"):
        raise Incomplete("Elasticsearch did not finish this search in time: no partial figures are shown.")
    if shards.get("failed"):
        raise Incomplete(f"Elasticsearch searched {shards.get('successful', 0)} of {shards.get('total', 0)} shards: "
                         "no partial figures are shown.")  # fmt: skip
    return response


def all_panel_data(
    es: Elasticsearch, panels_: list[Panel], scope: Scope, timeout_s: float = SEARCH_TIMEOUT_S
) -> list[PanelData]:
    """Every panel's rows, in the panels' order, PARALLEL_SEARCHES at a time (below the client's
    10 connections per node, so no search waits for a connection before its own bound starts). A
    page thus waits about two searches' bound when the cluster hangs (the first panel to time out
    stops the others: `down`), and its slowest panel when it answers."""
    down = threading.Event()
    with ThreadPoolExecutor(max_workers=PARALLEL_SEARCHES, thread_name_prefix="panel") as pool:
        return list(pool.map(lambda panel: panel_data(es, panel, scope, timeout_s, down), panels_))


def _unavailable(panel: Panel, err: Exception) -> str:
    """One sentence for a reader: the status and the kind of error, never the cluster's own text
    (a proxy's error page may name hosts); the detail goes to the server's log, masked."""
    from elasticsearch import ApiError

    log.warning("task-health panel %s: %s", panel.key, describe(err))
    if isinstance(err, ApiError):
        kind = err.body.get("error", {}).get("type") if isinstance(err.body, dict) else None
        kind = kind if isinstance(kind, str) else type(err).__name__
        return f"Elasticsearch refused the search of {panel.index} ({err.meta.status}, {kind})."
    return UNREACHABLE
