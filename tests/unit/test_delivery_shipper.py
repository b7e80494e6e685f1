"""Shipper and spool decisions (deliver / retry / spool / dead-letter / replay) with a scripted
stand-in for the cluster; the real cluster is exercised in tests/integration."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, ConnectionError

from include.delivery.shipper import Shipper
from include.delivery.spool import Spool
from include.task_health.templates import task_health_template


def action(i: int) -> dict:
    return {"_index": "th-2026.01", "_id": f"id-{i}", "_source": {"n": i}}


class ScriptedCluster:
    """Answers each bulk call with the next scripted outcome: a list of item statuses or an error."""

    def __init__(self, *outcomes) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[list[str]] = []
        self.timeouts: list[float] = []
        self.indices = self

    def options(self, request_timeout):
        self.timeouts.append(request_timeout)
        return self

    def get_index_template(self, name, **_):
        return {"index_templates": []}

    def put_index_template(self, name, **body):
        return {"acknowledged": True}

    def bulk(self, operations):
        self.headers, rest = [], list(operations)
        while rest:  # header lines, each followed by a source line except for a delete
            header = rest.pop(0)
            self.headers.append(header)
            if "delete" not in header:
                rest.pop(0)
        self.operations = operations
        ids = [next(iter(op.values()))["_id"] for op in self.headers]
        self.calls.append(ids)
        outcome = self.outcomes.pop(0) if self.outcomes else 201
        if isinstance(outcome, Exception):
            raise outcome
        statuses = outcome if isinstance(outcome, list) else [outcome] * len(ids)
        ops = [next(iter(op)) for op in self.headers]
        items = [{"_id": i, "status": s, "error": {"type": f"e{s}"}} for i, s in zip(ids, statuses, strict=True)]
        return {"items": [{op: item} for op, item in zip(ops, items, strict=True)]}


def shipper(cluster, tmp_path: Path, **kwargs) -> Shipper:
    options = {"budget_s": 5, "max_attempts": 3, "cooldown_s": 60}
    options.update(kwargs)
    return Shipper(lambda: cluster, Spool(tmp_path), task_health_template("th"), **options)


def api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("boom", meta, {})


def test_created_and_already_present_both_count_as_delivered(tmp_path) -> None:
    result = shipper(ScriptedCluster([201, 409]), tmp_path).ship([action(1), action(2)])
    assert (result.delivered, result.spooled, result.dead_lettered) == (2, 0, 0)


def test_requests_share_one_bounded_client_and_the_shipper_is_warm_after_the_first(tmp_path) -> None:
    cluster = ScriptedCluster()
    ship = shipper(cluster, tmp_path, request_timeout_s=1.5)
    assert not ship.warm, "no client and no template check yet"
    for i in range(3):
        assert ship.ship([action(i)]).delivered == 1
    assert cluster.timeouts == [1.5], "a bounded client per request (a new client object each time)"
    assert ship.warm


def test_only_the_items_that_need_it_are_retried(tmp_path) -> None:
    cluster = ScriptedCluster([201, 429, 503], 201)
    result = shipper(cluster, tmp_path).ship([action(1), action(2), action(3)])
    assert result.delivered == 3
    assert cluster.calls == [["id-1", "id-2", "id-3"], ["id-2", "id-3"]]


def test_rejected_items_go_to_the_dead_letter_file_with_the_reason(tmp_path) -> None:
    result = shipper(ScriptedCluster([201, 400]), tmp_path).ship([action(1), action(2)])
    assert (result.delivered, result.dead_lettered) == (1, 1)
    [record] = [json.loads(line) for line in (tmp_path / "deadletter.jsonl").read_text().splitlines()]
    assert record["_id"] == "id-2" and record["status"] == 400 and record["reason"] == {"type": "e400"}


def test_unreachable_cluster_spools_and_opens_the_breaker(tmp_path) -> None:
    cluster = ScriptedCluster(*[ConnectionError("refused")] * 3)
    ship = shipper(cluster, tmp_path)
    assert ship.ship([action(1)]).spooled == 1
    assert len(cluster.calls) == 3, "bounded retries"
    assert ship.ship([action(2)]).spooled == 1
    assert len(cluster.calls) == 3, "while the breaker is open nothing is sent"
    assert Spool(tmp_path).count() == 2


@pytest.mark.parametrize("status", [401, 403, 400])
def test_whole_request_errors_keep_the_events(tmp_path, status) -> None:
    result = shipper(ScriptedCluster(api_error(status)), tmp_path).ship([action(1)])
    assert result.spooled == 1 and Spool(tmp_path).count() == 1


def test_whole_request_429_is_retried(tmp_path) -> None:
    cluster = ScriptedCluster(api_error(429), 201)
    assert shipper(cluster, tmp_path).ship([action(1)]).delivered == 1
    assert len(cluster.calls) == 2


def test_a_successful_write_replays_the_spool_with_the_same_ids(tmp_path) -> None:
    Spool(tmp_path).append([action(1), action(2)])
    cluster = ScriptedCluster()
    result = shipper(cluster, tmp_path).ship([action(3)])
    assert (result.delivered, result.replayed) == (1, 2)
    assert cluster.calls == [["id-3"], ["id-1", "id-2"]]
    assert Spool(tmp_path).pending_bytes() == 0


def test_replay_respects_its_limit_and_keeps_the_rest(tmp_path) -> None:
    Spool(tmp_path).append([action(i) for i in range(10)])
    result = shipper(ScriptedCluster(), tmp_path).replay(limit=4)
    assert result.replayed == 4
    assert Spool(tmp_path).count() == 6


def test_a_failed_replay_puts_everything_back(tmp_path) -> None:
    Spool(tmp_path).append([action(i) for i in range(5)])
    result = shipper(ScriptedCluster(*[ConnectionError("down")] * 3), tmp_path).replay()
    assert result.replayed == 0 and result.spooled == 5
    assert Spool(tmp_path).count() == 5
    assert not list(tmp_path.glob("replay-*.jsonl"))


def test_a_batch_left_by_a_crashed_replay_is_picked_up(tmp_path) -> None:
    (tmp_path / "replay-999-1.jsonl").write_text(json.dumps(action(7)) + "\nnot json\n")
    result = shipper(ScriptedCluster(), tmp_path).replay()
    assert (result.replayed, result.dead_lettered) == (1, 1)
    assert "unparsable spool line" in (tmp_path / "deadletter.jsonl").read_text()


def test_a_second_replay_skips_while_one_runs(tmp_path) -> None:
    spool = Spool(tmp_path)
    spool.append([action(1)])
    with spool.claim() as first, spool.claim() as second:
        assert first and second is None


def test_values_json_lacks_are_spooled_not_lost(tmp_path) -> None:
    import numpy as np

    odd = {"_index": "th-2026.01", "_id": "odd", "_source": {"n": np.int64(3), "at": datetime(2026, 1, 1, tzinfo=UTC)}}
    shipper(ScriptedCluster(*[ConnectionError("down")] * 3), tmp_path).ship([odd])
    assert Spool(tmp_path).count() == 1
    [line] = (tmp_path / "spool.jsonl").read_text().splitlines()
    assert json.loads(line)["_source"] == {"n": 3, "at": "2026-01-01T00:00:00+00:00"}


def test_a_line_cut_by_a_killed_writer_costs_no_other_event(tmp_path) -> None:
    spool = Spool(tmp_path)
    spool.append([action(1)])
    with open(spool.path, "ab") as handle:  # a writer killed halfway through its line
        handle.write(b'{"_index":"th-2026.01","_id":"cut","_sou')
    spool.append([action(2)])
    result = shipper(ScriptedCluster(), tmp_path).replay()
    assert (result.replayed, result.dead_lettered) == (2, 1)
    [record] = [json.loads(line) for line in (tmp_path / "deadletter.jsonl").read_text().splitlines()]
    assert record["reason"] == "unparsable spool line" and '"_id":"cut"' in record["_raw"]


def test_non_ascii_text_survives_the_spool(tmp_path) -> None:
    text = "Überschreitung … 東京 ✓"
    doc = {"_index": "th-2026.01", "_id": "u", "_source": {"error_message": text}}
    Spool(tmp_path).append([doc])
    assert (tmp_path / "spool.jsonl").read_bytes().isascii()
    cluster = ScriptedCluster()
    shipper(cluster, tmp_path).replay()
    assert cluster.calls == [["u"]]


def test_a_limited_replay_leaves_the_rest_in_its_batch(tmp_path) -> None:
    Spool(tmp_path).append([action(i) for i in range(1200)])
    cluster = ScriptedCluster()
    result = shipper(cluster, tmp_path).replay(limit=700)
    assert result.replayed == 700
    assert [len(call) for call in cluster.calls] == [500, 200], "sent in chunks"
    [batch] = list(tmp_path.glob("replay-*.jsonl"))
    assert Spool(tmp_path).count(batch) == 500 and Spool(tmp_path).count() == 500
    assert shipper(cluster, tmp_path).replay().replayed == 500
    assert Spool(tmp_path).count() == 0 and not list(tmp_path.glob("replay-*.jsonl"))


def test_an_outage_during_replay_keeps_the_unsent_part(tmp_path) -> None:
    Spool(tmp_path).append([action(i) for i in range(1200)])
    cluster = ScriptedCluster(201, *[ConnectionError("down")] * 3)
    result = shipper(cluster, tmp_path).replay()
    assert (result.replayed, result.spooled) == (500, 500)
    assert Spool(tmp_path).count() == 700, "500 re-spooled + 200 never tried"


def test_versioned_actions_are_indexed_with_an_external_version(tmp_path) -> None:
    cluster = ScriptedCluster([201, 409])
    versioned = [{**action(1), "_version": 2000}, {**action(2), "_version": 1000}]
    result = shipper(cluster, tmp_path).ship(versioned)
    assert result.delivered == 2, "409 = a newer or the same version is there already"
    assert cluster.headers == [
        {"index": {"_index": "th-2026.01", "_id": "id-1", "version": 2000, "version_type": "external"}},
        {"index": {"_index": "th-2026.01", "_id": "id-2", "version": 1000, "version_type": "external"}},
    ]


def test_delete_actions_carry_the_external_version_and_no_source(tmp_path) -> None:
    cluster = ScriptedCluster([200, 404, 409, 400])
    deletes = [
        {"_index": "anomalies", "_id": f"r-{i}|2026-02-10", "_version": 3000, "_op_type": "delete", "_source": {}}
        for i in range(3)
    ]
    result = shipper(cluster, tmp_path).ship([{**action(9), "_version": 3000}, *deletes[:2], deletes[2]])
    assert cluster.operations == [
        {"index": {"_index": "th-2026.01", "_id": "id-9", "version": 3000, "version_type": "external"}},
        {"n": 9},
        *[
            {"delete": {"_index": "anomalies", "_id": d["_id"], "version": 3000, "version_type": "external"}}
            for d in deletes
        ],
    ]
    assert (result.delivered, result.dead_lettered) == (3, 1), "404 and 409 on a delete: nothing newer to remove"


def test_deletes_are_spooled_and_replayed_like_writes(tmp_path) -> None:
    delete = {"_index": "anomalies", "_id": "r-1|2026-02-10", "_version": 3000, "_op_type": "delete", "_source": {}}
    down = ScriptedCluster(*[ConnectionError("down")] * 3)
    assert shipper(down, tmp_path).ship([delete]).spooled == 1
    up = ScriptedCluster(200)
    assert shipper(up, tmp_path).replay().replayed == 1
    assert up.operations == [
        {"delete": {"_index": "anomalies", "_id": "r-1|2026-02-10", "version": 3000, "version_type": "external"}}
    ]


def test_an_item_refused_by_a_write_block_is_retried_then_spooled_not_dead_lettered(tmp_path) -> None:
    cluster = ScriptedCluster([201, 403], [403], 201)
    result = shipper(cluster, tmp_path).ship([action(1), action(2)])
    assert (result.delivered, result.dead_lettered) == (2, 0)
    assert cluster.calls == [["id-1", "id-2"], ["id-2"], ["id-2"]]

    blocked = ScriptedCluster(*[[403]] * 3)
    result = shipper(blocked, tmp_path / "blocked").ship([action(3)])
    assert (result.delivered, result.spooled, result.dead_lettered) == (0, 1, 0)
    assert Spool(tmp_path / "blocked").count() == 1


def test_dead_letters_are_re_sent_and_those_rejected_again_stay(tmp_path) -> None:
    spool = Spool(tmp_path)
    for i in (1, 2):
        spool.dead_letter(action(i), 400, {"type": "mapper_parsing_exception"})
    spool.dead_letter({"_raw": "{not json"}, None, "unparsable spool line")
    cluster = ScriptedCluster([201, 400])
    result = shipper(cluster, tmp_path).replay_dead_letters()
    assert (result.replayed, result.dead_lettered) == (1, 1)
    assert cluster.calls == [["id-1", "id-2"]]
    assert cluster.operations[1] == {"n": 1}, "the document as it was, without the dead-letter fields"
    records = [json.loads(line) for line in spool.deadletter_path.read_text().splitlines()]
    assert sorted(r.get("_id", r.get("_raw")) for r in records) == ["id-2", "{not json"]
    assert not list(tmp_path.glob("deadletter-replay-*.jsonl"))
