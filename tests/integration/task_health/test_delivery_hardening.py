"""Configurations that used to lock delivery out silently: overlapping prefixes, a template the
cluster refuses, a spool that cannot be written. Each is loud, counted, and fails no task."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.delivery.settings import DeliverySettings
from include.delivery.templates import IndexTemplate, ensure_template, priority_for
from include.task_health.document import AirflowRef, HealthEvent
from include.task_health.emitter import emit, task_health_shipper
from include.task_health.settings import TaskHealthSettings
from include.task_health.templates import task_health_template
from tests.support import connection_json, delivery_command, spool_entry

CLOSED_PORT = 9  # discard: nothing listens, connections are refused at once


def event(run_id: str) -> HealthEvent:
    ref = AirflowRef(dag_id="d", run_id=run_id, task_id="t", try_number=1, map_index=-1)
    return HealthEvent("task_execution", "completed", datetime.now(UTC), ref, "app", response_time=0.1)


def test_the_template_check_writes_only_what_the_cluster_lacks(task_health) -> None:
    """The check reads only the fields it compares (`filter_path`); were one missing from the
    answer, every process would rewrite the template."""
    prefix = f"{task_health.prefix}_check"
    template = task_health_template(prefix)
    assert ensure_template(task_health.es, template), "absent: written"
    assert not ensure_template(task_health.es, template), "the same version: left alone"
    newer = IndexTemplate(template.name, {**template.body, "version": template.body["version"] + 1})
    assert ensure_template(task_health.es, newer), "another version: written"
    stored = task_health.es.indices.get_index_template(name=template.name)["index_templates"][0]["index_template"]
    assert stored["version"] == newer.body["version"] and stored["template"]["mappings"], "the whole body went in"
    task_health.es.indices.delete_index_template(name=template.name)


def test_a_prefix_extending_another_gets_its_own_template_and_both_deliver(task_health, monkeypatch) -> None:
    first, second = f"{task_health.prefix}_a", f"{task_health.prefix}_a-prod"  # second-* lies inside first-*
    for prefix in (first, second):
        monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
        shipped = emit(event(f"manual__{prefix}"))
        assert shipped is not None and (shipped.delivered, shipped.spooled) == (1, 0), prefix
    index = f"{second}-{datetime.now(UTC):%Y.%m}"
    simulated = task_health.es.indices.simulate_index_template(name=index)
    assert [t["name"] for t in simulated["overlapping"]] == [first], "the more specific template applies"
    runs = {d["airflow"]["run_id"]: d["_index"] for d in task_health.documents()}
    assert runs[f"manual__{second}"] == index and runs[f"manual__{first}"].startswith(f"{first}-2")


def test_a_template_the_cluster_refuses_is_loud_counted_and_loses_nothing(task_health, monkeypatch, caplog) -> None:
    prefix = f"{task_health.prefix}_c"
    patterns = [f"{prefix}-*"]
    foreign = f"{task_health.prefix}_foreign"  # someone else's template, same patterns and priority
    task_health.es.indices.put_index_template(
        name=foreign, index_patterns=patterns, priority=priority_for(200, patterns), template={}
    )
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
    with caplog.at_level(logging.INFO, logger="include"):
        shipped = emit(event("manual__refused"))
    assert shipped is not None and (shipped.delivered, shipped.spooled) == (0, 1)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(f"refused index template '{prefix}'" in line and foreign in line for line in errors), errors
    problems = task_health_shipper(TaskHealthSettings.from_env()).spool.problems()
    assert problems["index_template"]["count"] == 1 and foreign in problems["index_template"]["message"]
    code, report, _ = delivery_command("status")
    assert code == 1 and spool_entry(report, prefix)["problems"]["index_template"]["count"] == 1

    task_health.es.indices.delete_index_template(name=foreign)  # the operator fixes the cause
    assert delivery_command("install-templates").code == 0
    code, replayed, _ = delivery_command("replay")
    assert code == 0 and spool_entry(replayed, prefix)["replayed"] == 1
    code, report, _ = delivery_command("status")
    assert code == 0 and spool_entry(report, prefix)["problems"] == {}
    assert "manual__refused" in {d["airflow"]["run_id"] for d in task_health.documents()}


@pytest.fixture
def unwritable_spool(tmp_path: Path, monkeypatch) -> Path:
    """A spool location that cannot be a directory (a file is in the way): what a wrong path,
    a read-only mount or a full disk look like to the shipper, even for root."""
    in_the_way = tmp_path / "spool"
    in_the_way.write_text("not a directory")
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(in_the_way))
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", f"th-unwritable-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(CLOSED_PORT))
    return in_the_way


def test_an_unwritable_spool_fails_nothing_and_says_so(unwritable_spool, monkeypatch, caplog) -> None:
    from include.anomaly.index import anomalies_shipper
    from include.anomaly.persist import delete_actions

    monkeypatch.setenv("ANOMALIES_INDEX", f"th-unwritable-anomalies-{uuid.uuid4().hex[:8]}")
    actions = delete_actions(["region-000", "region-001"], datetime.now(UTC).date(), 1)
    with caplog.at_level(logging.INFO, logger="include"):
        rows = anomalies_shipper(DeliverySettings.from_env()).ship(actions)  # what `persist` calls
        health = emit(event("manual__unwritable"))
    assert (rows.delivered, rows.spooled, rows.lost) == (0, 0, 2)
    assert health is not None and health.lost == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len([line for line in errors if "cannot be written" in line]) == 2, errors
    code, report, stderr = delivery_command("status")
    assert code == 1 and report and all(r["spool_unwritable"] for r in report), (report, stderr[-3000:])


def test_a_write_block_holds_events_in_the_spool_until_it_lifts(task_health, monkeypatch) -> None:
    prefix = f"{task_health.prefix}_w"
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
    assert emit(event("manual__before_block")).delivered == 1
    index = f"{prefix}-{datetime.now(UTC):%Y.%m}"
    task_health.es.indices.put_settings(index=index, settings={"index.blocks.write": True})
    try:
        blocked = emit(event("manual__during_block"))
        assert (blocked.delivered, blocked.spooled, blocked.dead_lettered) == (0, 1, 0), "403: the cluster's state"
    finally:
        task_health.es.indices.put_settings(index=index, settings={"index.blocks.write": False})
    code, report, _ = delivery_command("replay")
    assert code == 0 and spool_entry(report, prefix)["replayed"] == 1
    assert {"manual__before_block", "manual__during_block"} <= {d["airflow"]["run_id"] for d in task_health.documents()}


def test_dead_letters_are_re_sent_once_their_cause_is_fixed(task_health, monkeypatch) -> None:
    """An index someone created with a wrong mapping rejects the document (400); once it is
    dropped, `replay --dead-letters` delivers it into an index made from the template."""
    prefix = f"{task_health.prefix}_m"
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
    index = f"{prefix}-{datetime.now(UTC):%Y.%m}"
    task_health.es.indices.create(index=index, mappings={"properties": {"response_time": {"type": "boolean"}}})
    rejected = emit(event("manual__dead_letter"))
    assert (rejected.delivered, rejected.dead_lettered) == (0, 1)

    code, report, _ = delivery_command("replay", "--dead-letters")
    assert code == 1 and spool_entry(report, prefix)["still_dead_lettered"] == 1, "rejected again: kept"
    task_health.es.indices.delete(index=index)  # the operator fixes the cause
    code, report, _ = delivery_command("replay", "--dead-letters")
    entry = spool_entry(report, prefix)
    assert code == 0 and entry["replayed"] == 1 and entry["still_dead_lettered"] == 0
    [doc] = [d for d in task_health.documents() if d["airflow"]["run_id"] == "manual__dead_letter"]
    mapping = task_health.es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert doc["response_time"] == 0.1 and mapping["response_time"]["type"] == "float"
