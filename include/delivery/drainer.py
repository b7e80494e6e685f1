"""Spools that drain on their own, without waiting for a later write on the same host.

A shipper replays its spool after each successful write, so on its own a spool drains only
when another task lands on the same host and writes. Two things here close that gap:
- `Drainer`: a thread, owned by a long-lived process (scheduler, DAG processor, triggerer,
  Celery worker, or `python -m include.stack.delivery drain` as a service of its own), that
  looks at its spools every `interval_s` (a few `stat` calls) and replays whatever is waiting.
  After a pass that could not deliver, it waits twice as long, up to `MAX_BACKOFF_S`, so an
  outage costs each drainer one attempt per backoff; once Elasticsearch is back, a spool drains
  within `MAX_BACKOFF_S` plus the replay itself.
- `drain_before_exit`: a process that spooled something (a task under an outage) tries once,
  within a budget, to deliver it before it exits; what is still undelivered stays for a drainer.
Several drainers may share a spool: the spool's replay lock lets one replay at a time, the
others skip that pass; deterministic ids make any re-send harmless.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from include.delivery.shipper import ShipResult, describe

if TYPE_CHECKING:
    from include.delivery.shipper import Shipper

log = logging.getLogger("include.delivery")

MAX_BACKOFF_S = 30.0  # the longest wait between passes while Elasticsearch stays unreachable


def drain(shippers: Iterable[Shipper], time_budget_s: float | None = None) -> ShipResult:
    """Replay every spool that holds something, all of them within `time_budget_s` (None: no
    bound); the first spool the cluster cannot take ends the pass (the spools share a cluster).
    Never raises: an unreadable spool is logged and the others are still drained."""
    total = ShipResult()
    deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
    for shipper in shippers:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        try:
            if not shipper.spool.pending_bytes():
                continue
            result = shipper.replay(time_budget_s=left)
        except OSError as err:
            log.error(
                "%s: the spool %s cannot be drained (%s)", shipper.template.name, shipper.spool.path, describe(err)
            )
            continue
        total += result
        if result.spooled or result.lost:
            break
    return total


def drain_before_exit(shippers: Iterable[Shipper], time_budget_s: float) -> ShipResult | None:
    """In a process about to exit: replay the spools of the shippers that spooled here, within
    `time_budget_s`; None when there was nothing to do."""
    spooled_here = [s for s in shippers if s.spooled_here]
    if time_budget_s <= 0 or not spooled_here:
        return None
    return drain(spooled_here, time_budget_s)


class Drainer:
    """The thread that drains `shippers()` (asked at each pass: spools may come and go) every
    `interval_s`, each pass under `guard` (e.g. a lock that keeps a fork from splitting it)."""

    def __init__(
        self,
        shippers: Callable[[], Iterable[Shipper]],
        interval_s: float,
        guard: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext,
        pass_budget_s: float | None = None,
    ) -> None:
        self.shippers = shippers
        self.interval_s = interval_s
        self.guard = guard
        self.pass_budget_s = pass_budget_s
        self.stopped = threading.Event()
        self.passes = 0
        self.totals = ShipResult()
        self.thread = threading.Thread(target=self._loop, name="spool-drainer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, final_budget_s: float = 0.0) -> ShipResult | None:
        """Stop the loop; with a budget, one last pass (a worker leaving with events spooled)."""
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=max(final_budget_s, self.interval_s) + 5)
        if final_budget_s <= 0:
            return None
        return self.once(final_budget_s)

    def once(self, time_budget_s: float | None = None) -> ShipResult:
        """One pass over every spool (the loop's body; also for tests and commands)."""
        with self.guard():
            result = drain(self.shippers(), time_budget_s if time_budget_s is not None else self.pass_budget_s)
        self.passes += 1
        self.totals += result
        return result

    def _loop(self) -> None:
        wait = self.interval_s
        while not self.stopped.wait(wait):
            try:
                result = self.once()
                stuck = bool(result.spooled or result.lost)
            except Exception as err:  # a drainer must outlive any one bad pass
                log.error("spool drainer: pass failed (%s)", describe(err))
                stuck = True
            wait = min(wait * 2, max(MAX_BACKOFF_S, self.interval_s)) if stuck else self.interval_s
