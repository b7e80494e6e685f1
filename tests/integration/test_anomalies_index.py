"""Detection rows in the real `anomalies` index: `_id = region|date`, the newest run wins, and a
late replay of an older run's rows never overwrites it; after full, subset and full runs the index
holds exactly the partition's rows, also when the deletes had to wait in the spool.

Each test runs twice: on the open node, and on the secured one as its least-privilege writer
(versioned writes, deletes and the search of what is indexed are all the writer may do there;
the admin installs the template)."""

from __future__ import annotations

import os
import uuid
from datetime import date

import pandas as pd
import pytest

from include.anomaly.index import SPOOL_NAME, anomalies_shipper, anomalies_template
from include.anomaly.persist import index_actions
from include.delivery.settings import DeliverySettings
from include.delivery.shippers import new_shipper
from tests.session import ES_PORT
from tests.support import connection_json, delivery_command

DAY = date(2026, 2, 10)


def rows(run_id: str, score: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": ["region-000", "region-001"],
            "date": DAY.isoformat(),
            "score": [score, score - 0.1],
            "is_anomaly": [False, True],
            "model_name": "m",
            "model_version": "1",
            "run_id": run_id,
        }
    )


@pytest.fixture(params=["open", "secured"])
def node_kind(request) -> str:
    return request.param


@pytest.fixture
def es(node_kind, es, request):
    """The reader of the node under test: the session's client, or the secured node's admin."""
    if node_kind == "open":
        yield es
        return
    with request.getfixturevalue("secured_node").admin() as admin:
        yield admin


@pytest.fixture
def anomalies_index(node_kind, es, monkeypatch, tmp_path, request):
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(tmp_path))
    if node_kind == "open":
        index = f"test-anomalies-{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(ES_PORT))
        monkeypatch.setenv("ANOMALIES_INDEX", index)
    else:
        node = request.getfixturevalue("secured_node")
        index = f"th-anomalies-{uuid.uuid4().hex[:8]}_anomalies"  # the writer's `th-*_anomalies`
        monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", node.connection_json("writer"))
        monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_ADMIN", node.connection_json("admin"))
        monkeypatch.setenv("TASK_HEALTH_MANAGE_TEMPLATES", "false")
        monkeypatch.setenv("ANOMALIES_INDEX", index)
        delivery_command("install-templates", "--conn-id", "elasticsearch_admin", check=True)
    yield index
    es.options(ignore_status=404).indices.delete(index=index)
    es.options(ignore_status=404).indices.delete_index_template(name=index)


def stored(es, index: str) -> dict[str, dict]:
    es.indices.refresh(index=index)
    return {h["_id"]: h["_source"] for h in es.search(index=index, size=100)["hits"]["hits"]}


def test_newest_run_wins_and_late_replays_do_not(anomalies_index, es) -> None:
    shipper = anomalies_shipper()
    first = [{**a, "_index": anomalies_index} for a in index_actions(rows("run-1", -0.4), computed_at_ms=1000)]
    second = [{**a, "_index": anomalies_index} for a in index_actions(rows("run-2", -0.6), computed_at_ms=2000)]
    assert shipper.ship(first).delivered == 2
    assert shipper.ship(second).delivered == 2
    assert shipper.ship(first).delivered == 2, "an older write answers 409: delivered, not applied"
    docs = stored(es, anomalies_index)
    assert set(docs) == {"region-000|2026-02-10", "region-001|2026-02-10"}
    assert {d["run_id"] for d in docs.values()} == {"run-2"}
    mapping = es.indices.get_mapping(index=anomalies_index)[anomalies_index]["mappings"]["properties"]
    assert (mapping["is_anomaly"]["type"], mapping["score"]["type"], mapping["region"]["type"]) == (
        "boolean",
        "float",
        "keyword",
    )


def day_output(regions: list[str], run_id: str) -> list[dict]:
    """The detect shards' output for `regions` (one shard)."""
    frame = rows(run_id, -0.5).iloc[[0] * len(regions)].assign(region=regions, is_anomaly=False)
    return [{"rows": frame.to_dict("records")}]


def parquet_rows(root) -> dict[str, str]:
    from include.anomaly import layout

    with open(layout.anomalies_file(root, DAY), "rb") as handle:
        frame = pd.read_parquet(handle)
    return dict(zip(frame.region, frame.run_id, strict=True))


def nothing_staged(root, run_id: str) -> dict[str, str]:
    """The reference persist gets from extract, to files these tests never staged."""
    from include.anomaly import layout

    return layout.staged(root, DAY, run_id).reference()


def indexed_rows(es, index: str) -> dict[str, str]:
    return {i.split("|")[0]: d["run_id"] for i, d in stored(es, index).items()}


def test_full_subset_full_runs_leave_the_index_equal_to_the_partition(anomalies_index, es, tmp_path) -> None:
    from include.anomaly.pipeline import persist

    root = tmp_path / "data"
    persist(DAY, day_output(["r-a", "r-b", "r-c"], "full-1"), root, nothing_staged(root, "full-1"))
    assert (
        indexed_rows(es, anomalies_index) == parquet_rows(root) == {"r-a": "full-1", "r-b": "full-1", "r-c": "full-1"}
    )

    persist(DAY, day_output(["r-b"], "subset"), root, nothing_staged(root, "subset"), regions=["r-b"])
    assert (
        indexed_rows(es, anomalies_index) == parquet_rows(root) == {"r-a": "full-1", "r-b": "subset", "r-c": "full-1"}
    )

    report = persist(DAY, day_output(["r-a", "r-c"], "full-2"), root, nothing_staged(root, "full-2"))
    assert report["deleted"] == ["r-b"]
    assert indexed_rows(es, anomalies_index) == parquet_rows(root) == {"r-a": "full-2", "r-c": "full-2"}


def test_deletes_made_while_the_cluster_is_down_are_replayed(anomalies_index, es, tmp_path, monkeypatch) -> None:
    from include.anomaly.pipeline import persist

    root = tmp_path / "data"
    persist(DAY, day_output(["r-a", "r-b", "r-c"], "full-1"), root, nothing_staged(root, "full-1"))
    up = os.environ["AIRFLOW_CONN_ELASTICSEARCH_DEFAULT"]
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(1))  # nothing listens on port 1
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(tmp_path / "outage"))
    report = persist(DAY, day_output(["r-a"], "full-2"), root, nothing_staged(root, "full-2"))
    assert (report["deleted"], report["spooled"]) == (["r-b", "r-c"], 3), "found from the previous file"
    assert indexed_rows(es, anomalies_index) == {"r-a": "full-1", "r-b": "full-1", "r-c": "full-1"}

    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", up)
    replayed = new_shipper(DeliverySettings.from_env(), anomalies_template(anomalies_index), SPOOL_NAME).replay()
    assert replayed.replayed == 3
    assert indexed_rows(es, anomalies_index) == parquet_rows(root) == {"r-a": "full-2"}
