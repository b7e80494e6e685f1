"""One demo day run through the pipeline DAG once per session (`dag.test()`, real MLflow
registry and Elasticsearch), shared by the modules that check what it left behind."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, write_days
from tests.integration.pipeline.scenario import DAY, MODEL_NAME, REGIONS
from tests.session import PROJECT_ROOT


@pytest.fixture(scope="session")
def demo_root() -> Path:
    root = Path(urlparse(os.environ["DATA_ROOT"]).path)
    write_days(root, DAY - timedelta(days=40), DAY + timedelta(days=1), REGIONS, DemoConfig())
    return root


@pytest.fixture(scope="session")
def pipeline_dag(loaded_settings):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("hourly_anomaly_detection")


@pytest.fixture(scope="session")
def pipeline_run(pipeline_dag, demo_root, es_url):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANOMALY_MODEL_NAME", MODEL_NAME)
        yield pipeline_dag.test(run_conf={"date": DAY.isoformat(), "shard_size": 4})


@pytest.fixture(scope="session")
def failing_run(loaded_settings, demo_root, es_url):
    """A day without data: extract is retried twice (no delay here), then fails."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag("hourly_anomaly_detection")
    for task in dag.tasks:
        task.retry_delay = timedelta(0)
    missing_day = DAY + timedelta(days=30)
    assert not layout.landing_partition(demo_root, missing_day).exists()
    return dag.test(run_conf={"date": missing_day.isoformat()})
