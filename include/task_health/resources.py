"""Resource figures for one execution, measured with psutil while it runs.

Why each figure is measured the way it is:
- host CPU %: busy share of all CPUs from system-wide `cpu_times()` deltas over the window
  (the kernel counts in 10 ms ticks; a window with no tick has no honest figure → None);
- host memory %: mean of `virtual_memory().percent` samples taken at start, every interval
  and at the end;
- process CPU %: `time.process_time()` delta over wall time (nanosecond resolution, all threads
  of this process, so short tasks get a real figure too);
- process peak RSS: if the kernel's lifetime peak (`ru_maxrss`) rose during the window, the
  new peak is exact; otherwise the max of the RSS samples.
A daemon thread samples every `interval_s` (default 0.5 s), so overhead is bounded by the
interval, not by the task's length, and aggregates are kept running (no growing lists).
"""

from __future__ import annotations

import contextlib
import resource
import threading
import time
from dataclasses import dataclass

import psutil

from include.task_health.document import ResourceUsage


def _host_busy_and_total() -> tuple[float, float]:
    """CPU seconds the host's CPUs were busy, and in all, since boot."""
    times = psutil.cpu_times()
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


@dataclass
class _Aggregate:
    memory_sum: float = 0.0
    memory_samples: int = 0
    peak_rss: int = 0

    def add(self, process: psutil.Process) -> None:
        self.memory_sum += psutil.virtual_memory().percent
        self.memory_samples += 1
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, process.memory_info().rss)


class ResourceSampler:
    """Start when an execution starts, `stop()` when it ends; stop returns the figures."""

    def __init__(self, interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self._process = psutil.Process()
        self._aggregate = _Aggregate()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ResourceSampler:
        self._wall0 = time.perf_counter()
        self._cpu0 = time.process_time()
        self._host0 = _host_busy_and_total()
        self._maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self._sample()
        self._thread = threading.Thread(target=self._run, name="task-health-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        with self._lock:
            self._aggregate.add(self._process)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            self._sample()

    def stop(self) -> ResourceUsage:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 1)
        self._sample()
        wall = time.perf_counter() - self._wall0
        cpu = time.process_time() - self._cpu0
        busy1, total1 = _host_busy_and_total()
        busy_delta, total_delta = busy1 - self._host0[0], total1 - self._host0[1]
        maxrss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        agg = self._aggregate
        peak = maxrss1 * 1024 if maxrss1 > self._maxrss0 else agg.peak_rss  # ru_maxrss is KiB on Linux
        return ResourceUsage(
            host_cpu_percent=100.0 * busy_delta / total_delta if total_delta > 0 else None,
            host_memory_percent=agg.memory_sum / agg.memory_samples if agg.memory_samples else None,
            process_cpu_percent=100.0 * cpu / wall if wall > 0 else None,
            process_peak_rss_bytes=peak or None,
        )


def snapshot() -> ResourceUsage:
    """Figures for an instant (a `started` event): memory now and the process's RSS."""
    process = psutil.Process()
    return ResourceUsage(
        host_memory_percent=psutil.virtual_memory().percent, process_peak_rss_bytes=process.memory_info().rss
    )
