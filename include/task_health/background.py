"""Work task health does off its caller's thread (a task's `started` document, the scheduler's
`dag_run` summaries and reconciler, the API server's documents for states set by hand), made
safe for `fork`.

Airflow's LocalExecutor forks its workers from the scheduler process, and a task process is
forked from its worker. A thread that is in the middle of an import, a log call or an HTTP
request when another thread forks leaves that lock held, forever, in the child: measured here
(benchmarks/bench_scheduler.py, sweep every second), four task processes hung at their first
`import` inside task health. So every unit of background work runs under one process-wide lock
that a fork takes first (`os.register_at_fork`): a fork waits for the unit in flight (bounded
by the delivery time budget and request timeouts; at most FORK_WAIT_S), and the child starts
with no background thread and a fresh lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

FORK_WAIT_S = 30.0  # past this a fork goes ahead (and logs it) rather than stall the scheduler

_lock = threading.RLock()
_held_for_fork = False
_executor: ThreadPoolExecutor | None = None
_thread_role = threading.local()


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """Hold off any fork of this process while the block runs."""
    with _lock:
        yield


def in_background(work: Callable[[], object]) -> Future[object]:
    """Run `work` on the one task-health thread of this process (created on first use), after
    the work queued before it, with no fork in between."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-health", initializer=_mark_thread)

    def unit() -> object:
        with exclusive():
            return work()

    return _executor.submit(unit)


def _mark_thread() -> None:
    _thread_role.background = True


def on_background_thread() -> bool:
    """Whether the caller is the task-health thread itself (which must never wait for its own queue)."""
    return getattr(_thread_role, "background", False)


def _before_fork() -> None:
    global _held_for_fork
    _held_for_fork = _lock.acquire(timeout=FORK_WAIT_S)
    if not _held_for_fork:
        log.warning("task health: forking while its background work is still running (waited %.0f s)", FORK_WAIT_S)


def _after_fork_in_parent() -> None:
    global _held_for_fork
    if _held_for_fork:
        _held_for_fork = False
        _lock.release()


def _after_fork_in_child() -> None:
    """Threads do not survive a fork: forget the parent's, and its lock's state."""
    global _lock, _held_for_fork, _executor
    _lock, _held_for_fork, _executor = threading.RLock(), False, None


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
