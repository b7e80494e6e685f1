"""The resource sampler gives honest figures for short and busy executions."""

from __future__ import annotations

import time

from include.task_health.resources import ResourceSampler, snapshot


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_cpu_bound_execution_uses_about_one_core() -> None:
    sampler = ResourceSampler(interval_s=0.05).start()
    busy(0.4)
    usage = sampler.stop()
    assert 70 <= usage.process_cpu_percent <= 130
    assert usage.host_cpu_percent is not None and 0 < usage.host_cpu_percent <= 100
    assert 0 < usage.host_memory_percent < 100


def test_a_sleeping_execution_uses_almost_no_cpu() -> None:
    sampler = ResourceSampler(interval_s=0.05).start()
    time.sleep(0.3)
    assert sampler.stop().process_cpu_percent < 20


def test_peak_rss_sees_a_temporary_allocation() -> None:
    sampler = ResourceSampler(interval_s=0.02).start()
    before = snapshot().process_peak_rss_bytes
    block = bytearray(200 * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    time.sleep(0.1)
    del block
    usage = sampler.stop()
    assert usage.process_peak_rss_bytes >= before + 150 * 1024 * 1024


def test_a_very_short_execution_still_gets_process_figures() -> None:
    sampler = ResourceSampler(interval_s=0.5).start()
    busy(0.005)
    usage = sampler.stop()
    assert usage.process_cpu_percent is not None and usage.process_cpu_percent > 0
    assert usage.process_peak_rss_bytes > 0
    assert usage.host_memory_percent is not None


def test_the_sampler_thread_stops() -> None:
    sampler = ResourceSampler(interval_s=0.01).start()
    sampler.stop()
    assert not sampler._thread.is_alive()
