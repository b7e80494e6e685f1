"""Shipping against the real node: duplicates are no-ops, rejected documents are dead-lettered
with the reason while the others land."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from include.task_health.document import AirflowRef, HealthEvent, build_document
from include.task_health.emitter import current_shipper, ship_documents

T0 = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)


def documents(count: int, run_id: str = "manual__idempotency") -> list[dict]:
    docs = []
    for i in range(count):
        ref = AirflowRef(dag_id="d", run_id=run_id, task_id=f"t{i}", try_number=1, map_index=-1, run_type="manual")
        # Spread over two months: each lands in the index of its own date.
        docs.append(build_document(HealthEvent("task_execution", "completed", T0 + timedelta(hours=i), ref, "app")))
    return docs


def test_writing_the_same_events_twice_leaves_one_document_each(task_health) -> None:
    docs = documents(30)
    first = ship_documents(docs)
    again = ship_documents(docs)
    assert (first.delivered, again.delivered, first.spooled, again.spooled) == (30, 30, 0, 0)
    stored = [d for d in task_health.documents() if d["airflow"]["run_id"] == "manual__idempotency"]
    assert len(stored) == 30 and len({d["_id"] for d in stored}) == 30
    assert {d["_index"] for d in stored} == {f"{task_health.prefix}-2026.01", f"{task_health.prefix}-2026.02"}


def test_a_document_of_the_wrong_type_is_dead_lettered_and_the_others_land(task_health) -> None:
    docs = documents(5, run_id="manual__dead_letter")
    docs[2]["response_time"] = "twelve seconds"
    result = ship_documents(docs)
    assert (result.delivered, result.dead_lettered, result.spooled) == (4, 1, 0)
    stored = [d for d in task_health.documents() if d["airflow"]["run_id"] == "manual__dead_letter"]
    assert sorted(d["airflow"]["task_id"] for d in stored) == ["t0", "t1", "t3", "t4"]
    [record] = [json.loads(line) for line in (task_health.spool_dir / "deadletter.jsonl").read_text().splitlines()]
    assert record["_source"]["airflow"]["task_id"] == "t2"
    assert record["status"] == 400 and record["reason"]["type"] == "document_parsing_exception"
    assert "response_time" in record["reason"]["reason"]
    assert current_shipper().spool.count() == 0, "a rejected document is never spooled for blind retries"
