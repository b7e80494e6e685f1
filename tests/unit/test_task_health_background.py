"""Background work and fork: a fork waits for the unit in flight, and the child starts clean
(no thread, no lock held, no shipper of the parent's)."""

from __future__ import annotations

import os
import threading
import time

from include.delivery import shippers
from include.task_health import background


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
