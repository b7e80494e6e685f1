"""Detection rows in the real `anomalies` index: `_id = region|date`, the newest run wins, and a
late replay of an older run's rows never overwrites it."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
import pytest

from include.anomaly.persist import index_actions
from include.task_health.emitter import anomalies_shipper_for
from include.task_health.settings import TaskHealthSettings

pytestmark = pytest.mark.integration

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


@pytest.fixture
def anomalies_index(es, monkeypatch, tmp_path):
    from tests.conftest import ES_PORT
    from tests.integration.task_health.conftest import connection_json

    index = f"test-anomalies-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", connection_json(ES_PORT))
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(tmp_path))
    monkeypatch.setenv("ANOMALIES_INDEX", index)
    yield index
    es.options(ignore_status=404).indices.delete(index=index)
    es.options(ignore_status=404).indices.delete_index_template(name=index)


def stored(es, index: str) -> dict[str, dict]:
    es.indices.refresh(index=index)
    return {h["_id"]: h["_source"] for h in es.search(index=index, size=100)["hits"]["hits"]}


def test_newest_run_wins_and_late_replays_do_not(anomalies_index, es) -> None:
    shipper = anomalies_shipper_for(TaskHealthSettings.from_env())
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
