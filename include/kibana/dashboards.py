"""The project's Kibana saved objects: three data views and two dashboards of by-value Lens panels.

`saved_objects(index_prefix, anomalies_index)` builds them for any deployment's index names;
`include/kibana/saved_objects.ndjson` is the build for the defaults (`python -m include.kibana
build` rewrites it; a test keeps it in step). Every panel's field exists in the index
templates (`validate.py`), and every panel's aggregation is run against Elasticsearch in tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from include.kibana.lens import (
    Panel,
    count,
    date_histogram,
    histogram,
    last_value,
    lens_attributes,
    metric,
    newest,
    terms,
)

TASK_HEALTH_VIEW = "airflow-anomaly-data-task-health"
BYTE_FIELDS = ("process.memory_rss_bytes",)  # shown as bytes (KiB, MiB, ...) wherever they are drawn
ANOMALIES_VIEW = "airflow-anomaly-data-anomalies"
TASK_LOGS_VIEW = "airflow-anomaly-data-task-logs"
GRID_COLUMNS = 48
ENVELOPE = {"coreMigrationVersion": "8.8.0", "managed": False}
DASHBOARD_OPTIONS = {"useMargins": True, "syncColors": False, "syncCursor": True, "hidePanelTitles": False}
EMPTY_QUERY = {"query": "", "language": "kuery"}
TYPE_MIGRATION_VERSION = {"index-pattern": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}

FINISHED_TASKS = 'event: "task_execution" and status: ("completed" or "failed" or "up_for_retry" or "skipped")'
FINISHED_TRIES = 'status: ("completed" or "failed")'  # the events that carry resource figures
FAILED_TASKS = 'event: "task_execution" and status: ("failed" or "up_for_retry")'


@dataclass(frozen=True)
class Dashboard:
    key: str
    title: str
    description: str
    panels: list[Panel]


def task_health_panels() -> list[Panel]:
    view = TASK_HEALTH_VIEW
    return [
        Panel(
            "outcomes",
            "Task outcomes over time (retries visible)",
            view,
            "bar_stacked",
            [date_histogram(label="Time"), terms("status", 5, "Outcome"), count("Task instances")],
            FINISHED_TASKS,
            description="Completed, failed, up_for_retry and skipped task instances per interval.",
        ),
        Panel(
            "response-times",
            "Response time histogram, by task",
            view,
            "bar_stacked",
            [histogram("response_time", "Response time (s)"), terms("airflow.task_id", 8, "Task"), count("Task runs")],
            'event: "task_execution" and status: "completed"',
            order_by=2,
            description="How long finished task instances took, split by task.",
        ),
        Panel(
            "host-resources",
            "Host CPU and memory over time",
            view,
            "line",
            [
                date_histogram(label="Time"),
                metric("average", "cpu_usage", "Host CPU %"),
                metric("average", "memory_usage", "Host memory %"),
            ],
            FINISHED_TRIES,
        ),
        Panel(
            "process-cpu",
            "Task process CPU",
            view,
            "line",
            [date_histogram(label="Time"), metric("average", "process.cpu_percent", "Process CPU % (mean)")],
            FINISHED_TRIES,
            width=12,
        ),
        Panel(
            "process-memory",
            "Task process peak memory",
            view,
            "line",
            [date_histogram(label="Time"), metric("max", "process.memory_rss_bytes", "Peak RSS (max)")],
            FINISHED_TRIES,
            width=12,
        ),
        Panel(
            "run-days",
            "Task runs by logical date and run type (backfills on their own days)",
            view,
            "bar_stacked",
            [
                date_histogram("airflow.logical_date", "1d", "Logical date", other_date=True),
                terms("airflow.run_type", 5, "Run type"),
                count("Task instances"),
            ],
            'event: "task_execution" and status: "completed"',
        ),
        Panel(
            "latest-failures",
            "Latest failures",
            view,
            "table",
            [
                terms("airflow.run_id", 20, "Run"),
                terms("airflow.task_id", 5, "Task"),
                terms("airflow.try_number", 5, "Try", "number"),
                newest("@timestamp", "When"),
                last_value("airflow.dag_id", "DAG"),
                last_value("status", "Status"),
                last_value("error_type", "Error type"),
                last_value("error_message.keyword", "Error message"),
            ],
            FAILED_TASKS,
            width=48,
            height=14,
            order_by=3,
            description="Failed and retried task instances, newest runs first.",
        ),
    ]


def anomaly_panels() -> list[Panel]:
    return [
        Panel(
            "anomalies-heatmap",
            "Anomalies per region and day",
            ANOMALIES_VIEW,
            "heatmap",
            [date_histogram("date", "1d", "Day"), terms("region", 20, "Region"), count("Anomalous region-days")],
            "is_anomaly: true",
            width=48,
            height=14,
            order_by=2,
        ),
    ]


def model_panels() -> list[Panel]:
    view = TASK_HEALTH_VIEW
    return [
        Panel(
            "model-version",
            "Model version in use, by processed day",
            view,
            "bar_stacked",
            [
                date_histogram("details.day", "1d", "Processed day", other_date=True),
                terms("model_version", 5, "Model version"),
                count("Shards scored"),
            ],
            'event: "model_execution" and status: "completed"',
        ),
        Panel(
            "anomalies-per-run",
            "Anomalies per run",
            view,
            "table",
            [
                terms("airflow.run_id", 20, "Run"),
                last_value("model_version", "Model version"),
                metric("sum", "details.anomalies_count", "Anomalies"),
                metric("sum", "details.successful_predictions", "Scored"),
                metric("sum", "details.failed_predictions", "Not scorable"),
            ],
            'event: "model_execution" and status: "completed"',
            order_by=2,
        ),
        Panel(
            "evaluation-f1",
            "Evaluation F1 over time (model vs baseline)",
            view,
            "line",
            [
                date_histogram(label="Evaluated at"),
                metric("average", "details.f1", "Model F1"),
                metric("average", "details.baseline_f1", "Baseline F1"),
            ],
            'event: "model_evaluation"',
        ),
        Panel(
            "model-run-times",
            "Model execution time per shard",
            view,
            "line",
            [
                date_histogram(label="Time"),
                metric("median", "response_time", "Median (s)"),
                metric("max", "response_time", "Max (s)"),
            ],
            'event: "model_execution" and status: "completed"',
        ),
    ]


def dashboards() -> list[Dashboard]:
    return [
        Dashboard(
            "task-health",
            "Airflow anomaly detection: task health",
            "Task outcomes, response times, CPU and memory of every task instance, and the anomalies found.",
            task_health_panels() + anomaly_panels(),
        ),
        Dashboard(
            "model-runs",
            "Airflow anomaly detection: model runs",
            "Model version per processed day, anomalies per run, evaluation F1 against the baseline.",
            model_panels(),
        ),
    ]


def _layout(panels: list[Panel]) -> list[dict[str, int]]:
    """Left to right, top to bottom, on Kibana's 48-column grid."""
    grid, x, y, row_height = [], 0, 0, 0
    for panel in panels:
        if x + panel.width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        grid.append({"x": x, "y": y, "w": panel.width, "h": panel.height})
        x, row_height = x + panel.width, max(row_height, panel.height)
    return grid


def _saved_object(
    kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": kind,
        "id": object_id,
        "attributes": attributes,
        "references": references,
        **ENVELOPE,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[kind],
    }


def data_views(index_prefix: str, anomalies_index: str, task_logs_index: str) -> list[dict[str, Any]]:
    """Task health, anomalies, and Airflow's task logs (for Discover, where the UI's log links go)."""
    return [
        _saved_object(
            "index-pattern",
            TASK_HEALTH_VIEW,
            {
                "title": f"{index_prefix}-*",
                "name": "Task health",
                "timeFieldName": "@timestamp",
                "fieldFormatMap": json.dumps({name: {"id": "bytes"} for name in BYTE_FIELDS}),
            },
            [],
        ),
        _saved_object(
            "index-pattern",
            ANOMALIES_VIEW,
            {"title": anomalies_index, "name": "Anomalies", "timeFieldName": "date"},
            [],
        ),
        _saved_object(
            "index-pattern",
            TASK_LOGS_VIEW,
            {"title": f"{task_logs_index}*", "name": "Airflow task logs", "timeFieldName": "timestamp"},
            [],
        ),
    ]


def dashboard_object(board: Dashboard) -> dict[str, Any]:
    panels, references = [], []
    for number, (panel, grid) in enumerate(zip(board.panels, _layout(board.panels), strict=True), start=1):
        index = f"{board.key}-{number}-{panel.key}"
        attributes = lens_attributes(panel)
        panels.append(
            {
                "type": "lens",
                "panelIndex": index,
                "gridData": {**grid, "i": index},
                "embeddableConfig": {"attributes": attributes, "enhancements": {}},
                "title": panel.title,
            }
        )
        references += [{**ref, "name": f"{index}:{ref['name']}"} for ref in attributes["references"]]
    attributes = {
        "title": board.title,
        "description": board.description,
        "panelsJSON": json.dumps(panels),
        "optionsJSON": json.dumps(DASHBOARD_OPTIONS),
        "timeRestore": True,
        "timeFrom": "now-30d",
        "timeTo": "now",
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": EMPTY_QUERY, "filter": []})},
    }
    return _saved_object("dashboard", f"airflow-anomaly-{board.key}", attributes, references)


def saved_objects(
    index_prefix: str = "task-health", anomalies_index: str = "anomalies", task_logs_index: str = "airflow-logs"
) -> list[dict[str, Any]]:
    """Data views first: Kibana resolves a dashboard's references against the set it imports."""
    return data_views(index_prefix, anomalies_index, task_logs_index) + [dashboard_object(b) for b in dashboards()]


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o, sort_keys=True) + "\n" for o in objects)
