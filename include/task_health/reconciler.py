"""Terminal documents for task tries that ended without writing one: a task process killed
(SIGKILL, the OOM killer), its supervisor or worker lost, never runs its callbacks nor
Airflow's listener, so its `started` document is its last one, and Airflow alone knows it ended.

Two passes find such tries, both in the scheduler (the plugin's listener starts them there):
- `reconcile_run`, when a DAG run ends: every try of the run, earlier tries included;
- `Sweep`, every TASK_HEALTH_SWEEP_INTERVAL_S seconds on its own thread: tries of any DAG that
  ended since the last successful sweep, so a killed try of a run still going on (waiting for
  its retry) gets its document within seconds, not at the run's end.
A try that Airflow says ended (`failed`, `up_for_retry`, `upstream_failed`), with a `started`
document and no terminal one, gets the missing document with what is known: state, try,
duration from the try's start and end, and `error_type` from what Airflow recorded about how it
ended: `HeartbeatTimeout` (the scheduler heard nothing from the try: its supervisor or worker
died, or hung), else `TaskKilled` (the task process died: a signal, most often SIGKILL from the
OOM killer; Airflow keeps the signal only in the task log); `details.airflow_log_event` names
the audit-log entry it was read from. A try without any document is one task
health does not cover (plugin off or excluded) and is left alone.

Writes are `create`s with the usual ids, so a late real document and a reconciled one never
both land, and running a pass twice (or on two schedulers) changes nothing. Each pass is
bounded: one metadata-DB read of at most SWEEP_LIMIT tries per table, one search, one bulk
write, each with a timeout. One limit: a try whose own terminal document is still in a spool
(Elasticsearch was down as it ended) gets the reconciled document; the spooled one, with the
same id, is then dropped as already delivered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from include.task_health.context import enum_value
from include.task_health.document import AirflowRef, HealthEvent
from include.task_health.emitter import emit, never_raise
from include.task_health.settings import TaskHealthSettings

log = logging.getLogger(__name__)

TERMINAL = {"completed", "failed", "up_for_retry", "skipped"}
# Task states of a try that ended, and the document status each one gets.
ENDED = {"failed": "failed", "up_for_retry": "up_for_retry", "upstream_failed": "failed"}
KILLED = "the task's process died without reporting: killed by a signal (SIGKILL, most often the out-of-memory killer)"
# error_type and error_message by the audit-log entry Airflow wrote when it ended the try itself.
HOW_IT_ENDED = {
    "heartbeat timeout": (
        "HeartbeatTimeout",
        "Airflow heard no heartbeat from the try and failed it: its supervisor or worker died or hung",
    ),
    # The executor reported the workload's end while the try was still running: a process killed
    # with retries left ends this way too (its supervisor leaves the retry to the scheduler).
    "state mismatch": ("TaskKilled", f"{KILLED}; Airflow learned it from the executor; the task log holds the signal"),
    None: ("TaskKilled", f"{KILLED}; the task log holds the signal"),
}
SWEEP_LIMIT = 1000  # tries per table and sweep; the rest waits for the next sweep
SWEEP_OVERLAP = timedelta(seconds=60)  # a try committed late with an earlier end_date is seen too
SWEEP_FIRST_LOOKBACK = timedelta(hours=1)  # a new scheduler looks this far back


def missing_terminal_events(
    tries: list[dict[str, Any]], documented: set[tuple[str, str]], application_name: str
) -> list[HealthEvent]:
    """The terminal events `tries` (metadata-DB rows) lack, given the (ti_id, status) pairs
    already in the index."""
    events = []
    for row in tries:
        state, ti_id = _state(row), str(row["id"])
        if state not in ENDED or (ti_id, "started") not in documented:
            continue
        if any((ti_id, status) in documented for status in TERMINAL):
            continue
        status = ENDED[state]
        if row.get("earlier_try") and status == "failed" and row["try_number"] <= (row["max_tries"] or 0):
            status = "up_for_retry"  # archived as failed, though a retry followed it
        start, end = row["start_date"], row["end_date"]
        error_type, message = HOW_IT_ENDED.get(row.get("ending_log_event"), HOW_IT_ENDED[None])
        ref = AirflowRef(
            dag_id=row["dag_id"],
            run_id=row["run_id"],
            task_id=row["task_id"],
            run_type=enum_value(row.get("run_type")),
            logical_date=row.get("logical_date"),
            data_interval_start=row.get("data_interval_start"),
            data_interval_end=row.get("data_interval_end"),
            run_start_date=row.get("run_start_date"),
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
                status,
                end or datetime.now(UTC),
                ref,
                application_name,
                response_time=(end - start).total_seconds() if start and end else None,
                error_message=message,
                error_type=error_type,
                details={"reconciled": True, "task_state": state, "airflow_log_event": row.get("ending_log_event")},
            )
        )
    return events


def _state(row: dict[str, Any]) -> str:
    return str(enum_value(row["state"]))


def documented_tries(ti_ids: list[str], settings: TaskHealthSettings) -> set[tuple[str, str]]:
    """(ti_id, status) of the task documents of these tries in the index."""
    from elasticsearch import AuthorizationException

    from include.delivery.shippers import client

    es = client(settings.delivery, request_timeout_s=10)
    pattern = f"{settings.index_prefix}-*"
    try:
        es.indices.refresh(index=pattern, ignore_unavailable=True, allow_no_indices=True)
    except AuthorizationException:
        # A least-privilege writer may not refresh. A document written in the last second may
        # then look missing; writing it again is a no-op (same id, `create`): never a duplicate.
        log.debug("task health: no refresh privilege on %s; searching without one", pattern)
    response = es.search(
        index=pattern,
        size=10_000,
        source={"includes": ["airflow.ti_id", "status"]},
        query={"bool": {"filter": [{"terms": {"airflow.ti_id": ti_ids}}, {"term": {"event": "task_execution"}}]}},
        ignore_unavailable=True,
    )
    hits = (h["_source"] for h in response["hits"]["hits"])
    return {(str(h["airflow"]["ti_id"]), h["status"]) for h in hits}


def reconcile(tries: list[dict[str, Any]]) -> int:
    """Write the missing terminal documents of `tries`; how many. Raises when Elasticsearch
    cannot be read (the caller retries on its next pass)."""
    settings = TaskHealthSettings.from_env()
    ended = [row for row in tries if _state(row) in ENDED and settings.plugin_covers(row["dag_id"])]
    if not ended:
        return 0
    documented = documented_tries(sorted({str(row["id"]) for row in ended}), settings)
    events = missing_terminal_events(ended, documented, settings.application_name)
    if events:
        log.warning("task health: %d task tries ended without reporting; writing their documents", len(events))
        emit(*events)
    return len(events)


@dataclass
class PassCount:
    tries: int = 0
    written: int = 0


@dataclass
class PassTotals:
    """What this process's reconciler passes did and cost since it started (logged at its stop)."""

    passes: int = 0
    tries: int = 0
    written: int = 0
    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    max_wall_ms: float = 0.0


TOTALS = PassTotals()
_totals_lock = threading.Lock()


def _reset_totals() -> None:
    global TOTALS, _totals_lock
    TOTALS, _totals_lock = PassTotals(), threading.Lock()


os.register_at_fork(after_in_child=_reset_totals)  # a forked worker's passes are its own


@contextlib.contextmanager
def measured(kind: str) -> Iterator[PassCount]:
    """Count one pass into TOTALS: what it read and wrote, its wall time and the CPU time of its
    thread, the most it can take from the scheduler's loop through the GIL (one DEBUG line each)."""
    count, wall, cpu = PassCount(), time.perf_counter(), time.thread_time()
    try:
        yield count
    finally:
        wall_ms, cpu_ms = (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000
        with _totals_lock:
            TOTALS.passes += 1
            TOTALS.tries += count.tries
            TOTALS.written += count.written
            TOTALS.wall_ms += wall_ms
            TOTALS.cpu_ms += cpu_ms
            TOTALS.max_wall_ms = max(TOTALS.max_wall_ms, wall_ms)
        log.debug(
            "task-health reconciler pass (%s): %d tries read, %d documents written in %.1f ms (%.1f ms CPU)",
            kind,
            count.tries,
            count.written,
            wall_ms,
            cpu_ms,
        )


def log_totals() -> None:
    """One INFO line at a component's stop, where its reconciler ran (read by
    benchmarks/bench_scheduler.py; Airflow's log levels per namespace reach only its own loggers)."""
    with _totals_lock:
        totals = TOTALS
        if not totals.passes:
            return
        log.info(
            "task-health reconciler totals: %d passes, %d tries read, %d documents written, %.1f ms wall "
            "(longest pass %.1f ms), %.1f ms CPU",
            totals.passes,
            totals.tries,
            totals.written,
            totals.wall_ms,
            totals.max_wall_ms,
            totals.cpu_ms,
        )


def reconcile_run(dag_id: str, run_id: str) -> int:
    """Reconcile every try of a run that has ended; how many documents it wrote (never raises)."""
    from include.airflow_compat import run_tries

    with measured("run end") as count, never_raise(f"reconcile {dag_id}/{run_id}"):
        tries = run_tries(dag_id, run_id)
        count.tries = len(tries)
        count.written = reconcile(tries)
    return count.written


class Sweep:
    """The periodic pass: tries ended since the last pass that succeeded (minus an overlap)."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.now = now
        self.since = now() - SWEEP_FIRST_LOOKBACK

    def once(self) -> int:
        """One pass; how many documents it wrote. Raises when the DB or Elasticsearch fails, and
        then the next pass looks back as far again."""
        from include.airflow_compat import tries_ended_since

        started = self.now()
        with measured("sweep") as count:
            tries = tries_ended_since(self.since - SWEEP_OVERLAP, tuple(ENDED), SWEEP_LIMIT)
            count.tries = len(tries)
            count.written = reconcile(tries)
        full = len(tries) >= SWEEP_LIMIT
        self.since = max(row["end_date"] for row in tries) if full else started
        return count.written


class Sweeper:
    """The thread that runs a `Sweep` every `interval_s` seconds while `runs_here()` holds (it is
    asked at each pass: the scheduler's job says what it is only once its runner took it)."""

    def __init__(self, interval_s: float, runs_here: Callable[[], bool]) -> None:
        self.interval_s = interval_s
        self.runs_here = runs_here
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="task-health-sweep", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _loop(self) -> None:
        from include.task_health.background import exclusive

        sweep = Sweep()
        while not self.stopped.wait(self.interval_s):
            if not self.runs_here():
                return
            with exclusive(), never_raise("sweep"):  # no fork of the scheduler mid-pass
                sweep.once()
