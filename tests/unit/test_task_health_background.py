"""Background work and fork: a fork waits for the unit in flight, and the child starts clean
(no thread, no lock held, no shipper or queued shipment of the parent's); what a task ships in
the background goes before its next document."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

import pytest

from include.delivery import shippers
from include.task_health import background, emitter
from include.task_health.document import AirflowRef, HealthEvent


def fork_and_check(child_ok) -> int:
    """Fork; the child exits 0 if `child_ok()` holds there. Returns the child's exit code."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        os._exit(0 if child_ok() else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_fork_waits_for_the_background_unit_in_flight() -> None:
    inside, finished_at = threading.Event(), []

    def unit() -> None:
        inside.set()
        time.sleep(0.5)
        finished_at.append(time.monotonic())

    future = background.in_background(unit)
    assert inside.wait(5)
    assert fork_and_check(lambda: background._executor is None and background._lock.acquire(blocking=False)) == 0
    forked_at = time.monotonic()
    future.result(timeout=5)
    assert finished_at and finished_at[0] <= forked_at, "the fork went ahead in the middle of the unit"


def test_a_forked_child_makes_its_own_shippers(monkeypatch) -> None:
    monkeypatch.setitem(shippers._SHIPPERS, ("settings", "template", ""), object())  # type: ignore[arg-type]
    assert fork_and_check(lambda: shippers._SHIPPERS == {}) == 0
    assert shippers._SHIPPERS, "the parent keeps its own"


class GatedShipper:
    """Records what it ships, in order; the first shipment waits until the gate opens."""

    def __init__(self) -> None:
        self.gate, self.shipped, self.calls = threading.Event(), [], 0
        self.warm = True

    def ship(self, actions):
        self.calls += 1
        if self.calls == 1 and not self.gate.wait(10):
            raise AssertionError("the gate never opened")
        self.shipped.extend(action["_source"]["status"] for action in actions)


def event(status: str) -> HealthEvent:
    ref = AirflowRef(dag_id="d", run_id="r", task_id="t", try_number=1, map_index=-1, ti_id="0000")
    return HealthEvent("task_execution", status, datetime.now(UTC), ref, "app")


@pytest.fixture
def gated(monkeypatch) -> GatedShipper:
    gated = GatedShipper()
    monkeypatch.setattr(emitter, "task_health_shipper", lambda settings: gated)
    monkeypatch.setenv("TASK_HEALTH_ENABLED", "true")
    yield gated
    gated.gate.set()
    emitter._wait_for_queued(5)


def test_a_background_emit_costs_the_caller_no_round_trip_and_the_next_emit_waits_for_it(gated) -> None:
    start = time.monotonic()
    emitter.emit_in_background(event("started"))
    assert time.monotonic() - start < 0.5 and gated.shipped == [], "the caller waited for the shipment"
    finishing = threading.Thread(target=emitter.emit, args=(event("completed"),))
    finishing.start()
    time.sleep(0.2)
    assert gated.shipped == [], "the last document left before the first"
    gated.gate.set()
    finishing.join(5)
    assert gated.shipped == ["started", "completed"]


def test_a_fresh_process_ships_at_once(gated) -> None:
    """Its first shipment imports the client: a task killed meanwhile would have no `started`."""
    gated.warm = False
    gated.gate.set()
    emitter.emit_in_background(event("started"))
    assert gated.shipped == ["started"] and not emitter._queued


def test_the_wait_for_a_queued_shipment_is_bounded_by_the_budget(gated, monkeypatch, caplog) -> None:
    monkeypatch.setenv("TASK_HEALTH_SHIP_BUDGET_S", "0.3")
    emitter.emit_in_background(event("started"))
    start = time.monotonic()
    emitter.emit(event("completed"))
    assert 0.25 < time.monotonic() - start < 5
    assert "1 queued shipment(s) still running after 0.3s" in caplog.text


def test_a_forked_child_does_not_wait_for_what_its_parent_queued(gated) -> None:
    """The child has no task-health thread: a shipment queued behind the one in flight would
    never run there, and its next `emit` would wait a whole budget for it."""
    emitter.emit_in_background(event("started"))
    emitter.emit_in_background(event("skipped"))
    threading.Timer(0.2, gated.gate.set).start()  # the fork waits for the unit in flight
    assert fork_and_check(lambda: emitter._queued == []) == 0
    assert len(emitter._queued) == 2, "the parent keeps its own"
