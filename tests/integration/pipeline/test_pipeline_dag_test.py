"""One day end to end through `dag.test()` with real services: demo data in DATA_ROOT, the
MLflow registry, Elasticsearch; checks the Parquet partition, the `anomalies` documents, the
task-health and `model_execution` documents, and the registry version and alias."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, region_day
from include.anomaly.evaluation import quality
from include.anomaly.registry import anchor_date
from tests.integration.pipeline.scenario import DAY, MODEL_NAME, REGIONS
from tests.session import PROJECT_ROOT, SESSION_INDEX_PREFIX
from tests.support import state_of, task_states


def test_the_run_succeeds_and_every_task_ran(pipeline_run) -> None:
    states = task_states(pipeline_run)
    assert state_of(pipeline_run) == "success", states
    assert {k for k, v in states.items() if v != "success"} == set()
    assert [k for k in states if k[0] == "detect"] == [("detect", 0), ("detect", 1)], "6 regions in shards of 4"


def test_the_partition_holds_one_scored_row_per_region(pipeline_run, demo_root) -> None:
    with open(layout.anomalies_file(demo_root, DAY), "rb") as handle:
        rows = pd.read_parquet(handle)
    assert sorted(rows.region) == REGIONS and set(rows.date) == {DAY.isoformat()}
    assert set(rows.model_version) == {"1"} and set(rows.run_id) == {pipeline_run.run_id}
    truth = {r: region_day(DemoConfig(), r, DAY)[1] is not None for r in REGIONS}
    assert dict(zip(rows.region, rows.is_anomaly, strict=True)) == truth
    staged = layout.staged(demo_root, DAY, pipeline_run.run_id)
    assert not staged.region_days.exists(), "persist removes the staged region-days"


def test_only_extract_splits_its_report_into_xcoms(pipeline_dag) -> None:
    """TaskFlow turns multiple_outputs on for a `dict` return annotation; the DAG says it each time."""
    splits = {t.task_id: t.multiple_outputs for t in pipeline_dag.tasks if hasattr(t, "multiple_outputs")}
    assert splits == {
        "resolve_day": False,
        "extract": True,
        "choose_model": False,
        "make_shards": False,
        "persist": False,
    }


def test_extract_hands_the_staged_files_to_detect_and_persist(pipeline_dag, pipeline_run) -> None:
    """The DAG wires the staged files' locations from extract's XCom, nothing recomputes them."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.sdk import ObjectStoragePath

    expected = layout.staged(ObjectStoragePath(os.environ["DATA_ROOT"]), DAY, pipeline_run.run_id).reference()
    extract = pipeline_run.get_task_instance("extract")
    assert extract.xcom_pull(task_ids="extract", key="staged") == expected
    assert extract.xcom_pull(task_ids="extract")["staged"] == expected
    for task_id in ("detect", "persist"):
        assert "extract" in pipeline_dag.get_task(task_id).upstream_task_ids, task_id
    shards = [ti for ti in pipeline_run.get_task_instances() if ti.task_id == "detect"]
    assert [RenderedTaskInstanceFields.get_templated_fields(ti)["staged"] for ti in shards] == [expected] * 2
    assert not any(ObjectStoragePath(uri).exists() for uri in expected.values()), "persist removed them"


def test_documents_in_elasticsearch(pipeline_run, es) -> None:
    from mlflow import MlflowClient

    index = os.environ["ANOMALIES_INDEX"]
    es.indices.refresh(index=index)
    ids = {
        h["_id"]
        for h in es.search(index=index, size=100, query={"term": {"run_id": pipeline_run.run_id}})["hits"]["hits"]
    }
    assert ids == {f"{r}|{DAY.isoformat()}" for r in REGIONS}

    es.indices.refresh(index=f"{SESSION_INDEX_PREFIX}-*")
    hits = es.search(
        index=f"{SESSION_INDEX_PREFIX}-*", size=200, query={"term": {"airflow.run_id": pipeline_run.run_id}}
    )
    docs = [h["_source"] for h in hits["hits"]["hits"]]
    tasks = {(d["airflow"]["task_id"], d["airflow"]["map_index"]) for d in docs if d["event"] == "task_execution"}
    for task in tasks:
        statuses = {d["status"] for d in docs if (d["airflow"]["task_id"], d["airflow"]["map_index"]) == task}
        assert statuses == {"started", "completed"}, (task, statuses)
    assert {t for t, _ in tasks} == {"resolve_day", "extract", "choose_model", "make_shards", "detect", "persist"}
    model_done = [d for d in docs if d["event"] == "model_execution" and d["status"] == "completed"]
    assert len(model_done) == 2 and {d["model_version"] for d in model_done} == {"1"}
    assert {(d["model_name"], d["registered_model_name"]) for d in model_done} == {("IsolationForest", MODEL_NAME)}
    assert sum(d["details"]["successful_predictions"] for d in model_done) == len(REGIONS)
    assert sum(d["details"]["failed_predictions"] for d in model_done) == 0
    assert sum(d["details"]["imputed_hours"] for d in model_done) == 0, "the demo data misses no hour"
    anomalies = sum(region_day(DemoConfig(), r, DAY)[1] is not None for r in REGIONS)
    assert sum(d["details"]["anomalies_count"] for d in model_done) == anomalies
    tags = MlflowClient().get_model_version(MODEL_NAME, "1").tags
    for doc in model_done:  # the rate and threshold the run used: the version's calibrated ones
        assert doc["details"]["false_alarm_rate"] == 0.01
        assert doc["details"]["score_threshold"] == pytest.approx(float(tags["score_threshold"]))


def test_registry_version_and_alias(pipeline_run) -> None:
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version_by_alias(MODEL_NAME, "champion")
    assert str(version.version) == "1"
    assert version.tags["train_end"] == anchor_date(DAY, 7).isoformat() and version.tags["train_end"] <= DAY.isoformat()


def evaluate_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "include.anomaly.evaluation", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT, check=False)


def test_evaluation_is_logged_to_mlflow_and_elasticsearch(pipeline_run, demo_root, es) -> None:
    from mlflow import MlflowClient

    done = evaluate_cli("--start", DAY.isoformat(), "--end", (DAY + timedelta(days=1)).isoformat())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    with open(layout.anomalies_file(demo_root, DAY), "rb") as handle:
        flagged = pd.read_parquet(handle).set_index("region").is_anomaly.to_dict()
    truth = {r: region_day(DemoConfig(), r, DAY)[1] is not None for r in REGIONS}
    assert report["region_days"] == len(REGIONS) and report["model_versions"] == ["1"]
    expected = quality([truth[r] for r in REGIONS], [flagged[r] for r in REGIONS])
    assert {k: report["model"][k] for k in expected} == expected
    normal = [r for r in REGIONS if not truth[r]]
    assert report["model"]["false_alarm_rate_by_day"] == {"Wed": sum(flagged[r] for r in normal) / len(normal)}
    labelled = {region_day(DemoConfig(), r, DAY)[1] for r in REGIONS} - {None}
    assert set(report["model"]["recall_by_kind"]) == labelled
    assert os.path.getsize(report["figure"]) > 10_000 and report["figure"].endswith("evaluation.png")
    baseline = report["baseline"]
    assert baseline["tp"] + baseline["fn"] == sum(truth.values()), "the baseline is scored on the same labels"
    assert baseline["tp"] + baseline["fp"] + baseline["fn"] <= len(REGIONS) and 0 <= baseline["f1"] <= 1

    metrics = MlflowClient().get_run(report["mlflow_run_id"]).data.metrics
    assert metrics["f1"] == pytest.approx(report["model"]["f1"])
    assert metrics["baseline_f1"] == pytest.approx(report["baseline"]["f1"])
    assert metrics["region_days"] == len(REGIONS)

    es.indices.refresh(index=f"{SESSION_INDEX_PREFIX}-*")
    hits = es.search(
        index=f"{SESSION_INDEX_PREFIX}-*",
        query={"term": {"details.mlflow_run_id": report["mlflow_run_id"]}},
    )["hits"]["hits"]
    assert len(hits) == 1
    doc = hits[0]["_source"]
    assert (doc["event"], doc["status"], doc["model_version"]) == ("model_evaluation", "completed", "1")
    assert (doc["model_name"], doc["registered_model_name"]) == ("IsolationForest", MODEL_NAME)
    assert doc["details"]["f1"] == pytest.approx(report["model"]["f1"])
    assert doc["details"]["baseline_f1"] == pytest.approx(report["baseline"]["f1"])
    assert doc["details"]["false_alarm_rate"] == pytest.approx(report["model"]["false_alarm_rate"])
    assert doc["details"]["false_alarm_rate_by_day"] == pytest.approx(report["model"]["false_alarm_rate_by_day"])
    assert doc["airflow"]["data_interval_start"].startswith(DAY.isoformat())


def test_evaluation_of_days_the_pipeline_did_not_run_is_refused(pipeline_run, demo_root) -> None:
    earlier = DAY - timedelta(days=1)  # demo data and labels, but no run
    done = evaluate_cli("--start", earlier.isoformat(), "--end", (DAY + timedelta(days=1)).isoformat())
    assert done.returncode == 2
    assert f"{layout.anomalies_file(demo_root, earlier)}: no pipeline output" in done.stderr
