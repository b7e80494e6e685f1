"""Throughput of task-health shipping against the local Elasticsearch, three ways, same run:

- per_event:  the seed's way, one `es.index(...)` call per event;
- raw_bulk:   `elasticsearch.helpers.bulk` of the same pre-built documents (the ceiling);
- shipper:    the project's Shipper (create ops with deterministic ids, per-item outcome
              handling, spool/dead-letter bookkeeping), fed in batches of 500 as the spool
              replay does; and `shipper_single`, one event per call as a task callback does.
Each way writes the same documents into its own fresh index; the median of 3 rounds counts.
Prints one JSON object as its last line.

Usage: . scripts/env.sh && python -m benchmarks.bench_shipping [--events 5000] [--port 9200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from elasticsearch import Elasticsearch, helpers

from include.delivery.shipper import Shipper
from include.delivery.spool import Spool
from include.task_health.document import AirflowRef, HealthEvent, ResourceUsage, build_document, document_action
from include.task_health.templates import task_health_template

BATCH = 500


def make_documents(count: int) -> list[dict]:
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    docs = []
    for i in range(count):
        ref = AirflowRef(
            dag_id="bench", run_id=f"scheduled__{i // 100}", task_id=f"task_{i % 100}", run_type="scheduled",
            try_number=1, max_tries=1, map_index=-1, logical_date=t0, data_interval_start=t0,
            data_interval_end=t0, operator="PythonOperator", hostname="bench",
        )  # fmt: skip
        event = HealthEvent(
            "task_execution", "completed", t0 + timedelta(seconds=i), ref, "bench",
            response_time=0.5, resources=ResourceUsage(12.5, 40.1, 95.0, 150_000_000),
        )  # fmt: skip
        docs.append(build_document(event))
    return docs


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_round(es: Elasticsearch, url: str, docs: list[dict], per_event_count: int) -> dict[str, float]:
    prefix = f"bench-ship-{uuid.uuid4().hex[:8]}"
    rates = {}

    def per_event() -> None:
        for doc in docs[:per_event_count]:
            es.index(index=f"{prefix}-per-event", document=doc)

    rates["per_event"] = per_event_count / timed(per_event)

    def raw_bulk() -> None:
        actions = ({"_index": f"{prefix}-raw", "_source": d} for d in docs)
        helpers.bulk(es, actions, chunk_size=BATCH)

    rates["raw_bulk"] = len(docs) / timed(raw_bulk)

    with tempfile.TemporaryDirectory() as spool_dir:
        template = task_health_template(f"{prefix}-shipper")
        shipper = Shipper(lambda: Elasticsearch(url, request_timeout=30), Spool(Path(spool_dir)), template)
        shipper.install_template()  # once per process in real use; not part of the throughput
        actions = [document_action(d, f"{prefix}-shipper") for d in docs]

        def shipper_batches() -> None:
            for i in range(0, len(actions), BATCH):
                assert shipper.ship(actions[i : i + BATCH], replay_after=False).delivered == len(actions[i : i + BATCH])

        rates["shipper"] = len(docs) / timed(shipper_batches)
        single = [document_action(d, f"{prefix}-single") for d in docs[:per_event_count]]
        rates["shipper_single"] = per_event_count / timed(
            lambda: [shipper.ship([a], replay_after=False) for a in single]
        )
    for index in es.indices.get(index=f"{prefix}*"):
        es.indices.delete(index=index)
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-shipper")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--per-event-events", type=int, default=1000, help="the slow way gets fewer events")
    parser.add_argument("--port", type=int, default=int(os.environ.get("ES_PORT", "9200")))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    es = Elasticsearch(url, request_timeout=60)
    docs = make_documents(args.events)
    rounds = [run_round(es, url, docs, args.per_event_events) for _ in range(args.rounds)]
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    for name, rate in median.items():
        print(f"{name:>15}: {rate:10.0f} events/s  (rounds: {', '.join(f'{r[name]:.0f}' for r in rounds)})")
    result = {
        "benchmark": "bench_shipping",
        "events": args.events,
        "rounds": args.rounds,
        "events_per_s": {k: round(v, 1) for k, v in median.items()},
        "speedup_vs_per_event": round(median["shipper"] / median["per_event"], 2),
        "fraction_of_raw_bulk": round(median["shipper"] / median["raw_bulk"], 3),
        "callback_path_vs_per_event": round(median["shipper_single"] / median["per_event"], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
