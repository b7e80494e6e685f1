"""Terminal documents for task tries that ended without writing one: a task process killed
(SIGKILL, the OOM killer) or its worker lost never runs its callbacks nor Airflow's listener,
so its `started` document is the last one, and Airflow alone knows it ended.

When a DAG run ends, the plugin's listener (in the scheduler, on its background thread)
calls `reconcile_run`: every current try that Airflow says ended (`failed`, `up_for_retry`)
and that has a `started` document but no terminal one gets the missing document, with what is
known: state, try, duration from the try's start and end, `error_type` `TaskDiedWithoutReporting`.
A try without any document is one task health does not cover (plugin off or excluded), and
is left alone. Writes are `create`s with the usual ids, so a late real document and a
reconciled one never both land, and running it twice changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from include.task_health.document import AirflowRef, HealthEvent
from include.task_health.settings import TaskHealthSettings

log = logging.getLogger(__name__)

TERMINAL = {"completed", "failed", "up_for_retry", "skipped"}
ENDED = {"failed", "up_for_retry"}  # task states whose try wrote nothing after a kill
DIED = "TaskDiedWithoutReporting"


def missing_terminal_events(
    tries: list[dict[str, Any]], documented: set[tuple[str, str]], application_name: str
) -> list[HealthEvent]:
    """The terminal events `tries` (metadata-DB rows) lack, given the (ti_id, status) pairs
    already in the index."""
    events = []
    for row in tries:
        state, ti_id = str(getattr(row["state"], "value", row["state"])), str(row["id"])
        if state not in ENDED or (ti_id, "started") not in documented:
            continue
        if any((ti_id, status) in documented for status in TERMINAL):
            continue
        start, end = row["start_date"], row["end_date"]
        ref = AirflowRef(
            dag_id=row["dag_id"],
            run_id=row["run_id"],
            task_id=row["task_id"],
            try_number=row["try_number"],
            max_tries=row["max_tries"],
            map_index=row["map_index"],
            operator=row["operator"],
            hostname=row["hostname"] or None,
            ti_id=ti_id,
        )
        events.append(
            HealthEvent(
                "task_execution",
                state,
                end or datetime.now(UTC),
                ref,
                application_name,
                response_time=(end - start).total_seconds() if start and end else None,
                error_message="the task's process ended without reporting (killed, out of memory or its worker lost)",
                error_type=DIED,
                details={"reconciled": True},
            )
        )
    return events


TASK_EVENTS = {"term": {"event": "task_execution"}}


def _term(field: str, value: str) -> dict[str, Any]:
    return {"term": {field: value}}


def documented_tries(dag_id: str, run_id: str, settings: TaskHealthSettings) -> set[tuple[str, str]]:
    """(ti_id, status) of the run's task documents in the index."""
    from include.delivery.shippers import client

    es = client(settings.delivery, request_timeout_s=10)
    pattern = f"{settings.index_prefix}-*"
    es.indices.refresh(index=pattern, ignore_unavailable=True, allow_no_indices=True)
    response = es.search(
        index=pattern,
        size=10_000,
        source={"includes": ["airflow.ti_id", "status"]},
        query={
            "bool": {
                "filter": [
                    {"term": {"airflow.dag_id": dag_id}},
                    {"term": {"airflow.run_id": run_id}},
                    {"term": {"event": "task_execution"}},
                ]
            }
        },
        ignore_unavailable=True,
    )
    hits = (h["_source"] for h in response["hits"]["hits"])
    return {(str(h["airflow"]["ti_id"]), h["status"]) for h in hits if h.get("airflow", {}).get("ti_id")}


def reconcile_run(dag_id: str, run_id: str) -> int:
    """Write the run's missing terminal documents; how many it wrote (never raises)."""
    from include.airflow_compat import ended_task_tries
    from include.task_health.emitter import emit, never_raise

    with never_raise("reconcile"):
        settings = TaskHealthSettings.from_env()
        events = missing_terminal_events(
            ended_task_tries(dag_id, run_id), documented_tries(dag_id, run_id, settings), settings.application_name
        )
        if events:
            log.warning(
                "%s/%s: %d task tries ended without reporting; writing their documents", dag_id, run_id, len(events)
            )
            emit(*events)
        return len(events)
    return 0
