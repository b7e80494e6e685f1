"""Spools drain on their own (issue 11): a drainer delivers what an outage left behind as soon
as Elasticsearch answers again, with no later task on the same host; it backs off while the
node stays away; it drains the adopted spool of a worker that is gone; a task process delivers
what it spooled before it exits. Elasticsearch is the real node, behind a forwarder the tests
switch off and on (`tests.outage`)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import pytest

from include.delivery.drainer import Drainer, drain, drain_before_exit
from include.delivery.settings import DeliverySettings
from include.delivery.shipper import Shipper
from include.delivery.shippers import new_shipper
from include.stack.draining import new_drainer
from include.stack.spools import VisibleSpools
from include.task_health.document import AirflowRef, HealthEvent, build_document, document_action
from include.task_health.emitter import task_health_destination
from include.task_health.settings import TaskHealthSettings
from tests.outage import Outage, switchable
from tests.session import ES_PORT
from tests.support import connection_json, delivery_command, spool_entry

EVENTS = 25


@pytest.fixture
def outage(task_health, monkeypatch, tmp_path):
    """The connection points at a forwarder to the real node, down to begin with; the test
    spools in a directory of its own."""
    with switchable(ES_PORT) as forwarder:
        monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(forwarder.port))
        monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(tmp_path / "spool"))
        monkeypatch.setenv("TASK_HEALTH_COOLDOWN_S", "30")
        yield forwarder


def events(run_id: str) -> list[HealthEvent]:
    refs = (AirflowRef(dag_id="drained", run_id=run_id, task_id="t", try_number=1, map_index=i) for i in range(EVENTS))
    return [HealthEvent("task_execution", "completed", datetime.now(UTC), ref, "app") for ref in refs]


def spool_during_outage(run_id: str) -> Shipper:
    """`EVENTS` documents shipped while the node is away: all spooled, as a task's would be."""
    settings = TaskHealthSettings.from_env()
    shipper = new_shipper(settings.delivery, *task_health_destination(settings))
    result = shipper.ship([document_action(build_document(e), settings.index_prefix) for e in events(run_id)])
    assert result.spooled == EVENTS and result.delivered == 0
    return shipper


def documents_of(task_health, run_id: str) -> list[dict]:
    return [d for d in task_health.documents() if d["airflow"]["run_id"] == run_id]


def wait_for(condition, timeout: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_drainer_delivers_what_an_outage_left_once_elasticsearch_answers(task_health, outage: Outage) -> None:
    shipper = spool_during_outage("manual__drained")
    drainer = new_drainer(TaskHealthSettings.from_env())
    drainer.interval_s = 0.2
    drainer.start()
    try:
        time.sleep(1)
        assert shipper.spool.count() == EVENTS, "nothing may leave the spool while the node is away"
        outage.up()
        wait_for(lambda: shipper.spool.count() == 0, timeout=35)  # the backoff is at most 30 s
    finally:
        drainer.stop()
    docs = documents_of(task_health, "manual__drained")
    assert len(docs) == EVENTS and len({d["_id"] for d in docs}) == EVENTS
    assert drainer.totals.replayed == EVENTS
    assert drainer.once().replayed == 0, "a drained spool holds nothing more"


def test_a_drainer_backs_off_while_the_node_stays_away(task_health, outage: Outage) -> None:
    shipper = spool_during_outage("manual__backoff")
    drainer = Drainer(lambda: [shipper], interval_s=0.05)
    drainer.start()
    time.sleep(1.6)
    drainer.stop()
    # Without a backoff: ~32 passes. With one: waits of 0.05, 0.1, 0.2, 0.4, 0.8 s.
    assert 3 <= drainer.passes <= 6, drainer.passes
    assert shipper.spool.count() == EVENTS and drainer.totals.lost == 0


def test_a_pass_stops_at_the_first_spool_the_cluster_cannot_take(task_health, outage: Outage, monkeypatch, tmp_path):
    first = spool_during_outage("manual__first")
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(tmp_path / "second"))
    second = spool_during_outage("manual__second")
    result = drain([first, second], time_budget_s=5)
    assert result.spooled == EVENTS and result.replayed == 0, "the second spool is not tried once the first failed"
    outage.up()
    result = drain([first, second], time_budget_s=5)
    assert result.replayed == 2 * EVENTS and first.spool.count() == second.spool.count() == 0


def test_a_process_delivers_what_it_spooled_before_it_exits(task_health, outage: Outage) -> None:
    shipper = spool_during_outage("manual__exit")
    idle = new_shipper(DeliverySettings.from_env(), *task_health_destination(TaskHealthSettings.from_env()))
    assert drain_before_exit([idle], 2.0) is None, "a process that spooled nothing has nothing to do"
    assert drain_before_exit([shipper], 0) is None, "a budget of 0 turns the exit drain off"
    started = time.monotonic()
    still_down = drain_before_exit([shipper], 1.0)
    assert still_down is not None and still_down.spooled == EVENTS and time.monotonic() - started < 3
    outage.up()
    result = drain_before_exit([shipper], 2.0)
    assert result is not None and result.replayed == EVENTS and shipper.spool.count() == 0
    assert len(documents_of(task_health, "manual__exit")) == EVENTS


def test_the_spool_of_a_worker_that_is_gone_is_drained_where_it_is_adopted(
    task_health, outage: Outage, tmp_path, monkeypatch
) -> None:
    gone = tmp_path / "workers" / "worker-gone" / "task_health"
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(gone))
    spool_during_outage("manual__adopted")
    here = tmp_path / "scheduler" / "task_health"
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(here))
    monkeypatch.setenv("TASK_HEALTH_ADOPT_SPOOL_DIRS", str(tmp_path / "workers" / "*" / "task_health"))
    env = dict(os.environ)

    code, status, _ = delivery_command("status", env=env)
    assert code == 0 and spool_entry(status, task_health.prefix, gone)["spooled"] == EVENTS
    assert spool_entry(status, task_health.prefix, here)["spooled"] == 0, "the host's own spool is listed first"
    assert {e["spool"] for e in status} >= {str(gone / "spool.jsonl"), str(here / "spool.jsonl")}

    code, _, _ = delivery_command("drain", "--once", env=env)
    assert code == 1, "still down: the pass says something is left"
    outage.up()
    code, _, _ = delivery_command("drain", "--once", env=env)
    assert code == 0
    assert len(documents_of(task_health, "manual__adopted")) == EVENTS
    code, status, _ = delivery_command("status", env=env)
    assert spool_entry(status, task_health.prefix, gone)["spooled"] == 0
    assert len(VisibleSpools(TaskHealthSettings.from_env())()) == 4, "two roots, two destinations each"
