"""Bad input through the whole DAG (`dag.test()`, real MLflow registry and Elasticsearch): each
case gives its documented outcome (DESIGN.md §2), never a silent wrong result:

- the day cannot be scored: the run fails at `extract` with a message naming the file and the
  problem, and a `failed` task-health document carries it in `error_message`. Bad data fails
  at once; a missing partition is retried first (data may land late);
- some readings are bad: they are counted by reason in `extract`'s report, and a region-day
  that cannot be scored is left out of the outputs and counted in `details.failed_predictions`
  of the `model_execution` documents, with its name in `details.unscorable_regions`; hours
  filled in by interpolation in a scored region-day are counted in `details.imputed_hours`.

Every case rewrites the partition of the same day, so one registered model serves them all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from include.anomaly import layout
from include.anomaly.demo_data import DemoConfig, day_frames, region_names, write_days
from tests.session import SESSION_INDEX_PREFIX
from tests.support import state_of, task_states

DAY = date(2026, 3, 4)
REGIONS = region_names(4)
R0, R1, R2, R3 = REGIONS


def clean_day() -> pd.DataFrame:
    hourly, _ = day_frames(DemoConfig(anomaly_rate=0.0), REGIONS, DAY)
    return hourly


def hours(frame: pd.DataFrame, region: str, count: int) -> pd.Index:
    """Index of the first `count` hourly rows of `region` (skipping midnight and the last hour,
    so interpolation has neighbours)."""
    return frame.index[frame.region == region][1 : 1 + count]


def set_values(region: str, count: int, value: str) -> Callable[[Path], None]:
    def write(load_csv: Path) -> None:
        frame = clean_day().astype({"value": object})
        frame.loc[hours(frame, region, count), "value"] = value
        frame.to_csv(load_csv, index=False)

    return write


def drop_hours(spec: dict[str, int]) -> Callable[[Path], None]:
    def write(load_csv: Path) -> None:
        frame = clean_day()
        for region, count in spec.items():
            frame = frame.drop(hours(frame, region, count))
        frame.to_csv(load_csv, index=False)

    return write


def exact_duplicates(load_csv: Path) -> None:
    frame = clean_day()
    pd.concat([frame, frame[frame.region == R0]]).to_csv(load_csv, index=False)


def naive_timestamps(region: str | None) -> Callable[[Path], None]:
    def write(load_csv: Path) -> None:
        frame = clean_day()
        rows = frame.index if region is None else frame.index[frame.region == region]
        frame.loc[rows, "timestamp"] = frame.loc[rows, "timestamp"].str.rstrip("Z")
        frame.to_csv(load_csv, index=False)

    return write


def csv_and_parquet_disagree(load_csv: Path) -> None:
    frame = clean_day()
    frame.to_csv(load_csv, index=False)
    other = frame[frame.region == R0].assign(value=lambda f: f.value * 1.5)
    other.to_parquet(load_csv.with_name("late_delivery.parquet"), index=False)


def shift_timestamps(region: str, count: int, change: Callable[[str], str]) -> Callable[[Path], None]:
    def write(load_csv: Path) -> None:
        frame = clean_day()
        rows = hours(frame, region, count)
        frame.loc[rows, "timestamp"] = frame.loc[rows, "timestamp"].map(change)
        frame.to_csv(load_csv, index=False)

    return write


def region_unknown_to_the_model(load_csv: Path) -> None:
    frame = clean_day()
    newcomer = frame[frame.region == R0].assign(region="region-new")
    pd.concat([frame, newcomer]).to_csv(load_csv, index=False)


def region_without_data(load_csv: Path) -> None:
    frame = clean_day()
    frame[frame.region != R3].to_csv(load_csv, index=False)


def with_extra_file(name: str, content: bytes) -> Callable[[Path], None]:
    def write(load_csv: Path) -> None:
        clean_day().to_csv(load_csv, index=False)
        load_csv.with_name(name).write_bytes(content)

    return write


def transform_columns(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def write(load_csv: Path) -> None:
        change(clean_day()).to_csv(load_csv, index=False)

    return write


@dataclass(frozen=True)
class Fails:
    """The run fails at extract with `message` (a regex) after `tries` tries."""

    message: str
    tries: int = 1


@dataclass(frozen=True)
class Scores:
    """The run succeeds; `unscorable` regions are counted, not scored; `bad_rows` as reported;
    `imputed_hours` of the scored regions filled in by interpolation."""

    bad_rows: dict[str, int]
    unscorable: set[str] = field(default_factory=set)
    imputed_hours: int = 0


# Each case: a writer given the path of the day's load.csv (None: no partition), and the outcome.
CASES: dict[str, tuple[Callable[[Path], None] | None, Fails | Scores]] = {
    "missing partition": (None, Fails(r"date=2026-03-04: partition missing", tries=3)),
    "empty file": (with_extra_file("late.csv", b""), Fails(r"late\.csv: file is empty")),
    "missing column": (
        transform_columns(lambda f: f.drop(columns=["value"])),
        Fails(r"load\.csv: missing column\(s\) value; found timestamp, region"),
    ),
    "wrong columns": (
        transform_columns(lambda f: f.rename(columns={"region": "area", "value": "mwh"})),
        Fails(r"load\.csv: missing column\(s\) region, value"),
    ),
    "unreadable file": (
        with_extra_file("part-0001.parquet", b"PAR1 this is not parquet"),
        Fails(r"part-0001\.parquet: cannot be read as parquet"),
    ),
    "naive timestamps everywhere": (
        naive_timestamps(None),
        Fails(r"no region-day of 2026-03-04 can be scored .*bad rows: 96 timestamp_without_offset"),
    ),
    "non-numeric values": (set_values(R1, 5, "n/a?"), Scores({"non_numeric_value": 5}, {R1})),
    "NaN values": (set_values(R0, 3, "NaN"), Scores({"nan_value": 3}, {R0})),
    "a negative value": (set_values(R2, 1, "-42.5"), Scores({"negative_value": 1}, imputed_hours=1)),
    "absurd readings (1e300)": (set_values(R3, 3, "1e300"), Scores({"implausible_value": 3}, {R3})),
    "an infinite value": (set_values(R1, 1, "-inf"), Scores({"non_finite_value": 1}, imputed_hours=1)),
    "duplicate hours": (exact_duplicates, Scores({"duplicate": 24})),
    "missing hours": (drop_hours({R0: 2, R1: 12}), Scores({}, {R1}, imputed_hours=2)),
    "naive timestamps in one region": (naive_timestamps(R2), Scores({"timestamp_without_offset": 24}, {R2})),
    "CSV and Parquet disagree": (csv_and_parquet_disagree, Scores({"conflicting_duplicate": 48}, {R0})),
    "a region with no data": (region_without_data, Scores({}, {R3})),
    "timestamps off the hour": (
        shift_timestamps(R1, 2, lambda t: t.replace(":00:00Z", ":30:00Z")),
        Scores({"not_on_the_hour": 2}, imputed_hours=2),
    ),
    "a reading of another day": (
        shift_timestamps(R2, 1, lambda t: t.replace("2026-03-04", "2026-03-05")),
        Scores({"outside_partition_day": 1}, imputed_hours=1),
    ),
    "a region unknown to the model": (region_unknown_to_the_model, Scores({}, {"region-new"})),
}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad-input-data")
    write_days(root, DAY - timedelta(days=35), DAY, REGIONS, DemoConfig())
    return root


@pytest.fixture(scope="module")
def pipeline(loaded_settings, data_root, es_url):
    """The DAG, reading `data_root`, with retries that do not wait (missing partition case)."""
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATA_ROOT", data_root.as_uri())
        patch.setenv("ANOMALY_MODEL_NAME", "bad-input-model")
        dag = DagBag(dag_folder=str(Path(__file__).resolve().parents[3] / "dags")).get_dag("hourly_anomaly_detection")
        for task in dag.tasks:
            task.retry_delay = timedelta(0)
        yield dag


def run_case(dag, data_root: Path, name: str):
    write, _ = CASES[name]
    partition = layout.landing_partition(data_root, DAY)
    for old in partition.glob("*") if partition.exists() else []:
        old.unlink()
    if write is not None:
        partition.mkdir(parents=True, exist_ok=True)
        write(layout.landing_file(data_root, DAY))
    return dag.test(run_conf={"date": DAY.isoformat(), "shard_size": 2})


def health_documents(es, run_id: str) -> list[dict]:
    es.indices.refresh(index=f"{SESSION_INDEX_PREFIX}-*")
    hits = es.search(index=f"{SESSION_INDEX_PREFIX}-*", size=500, query={"term": {"airflow.run_id": run_id}})
    return [h["_source"] for h in hits["hits"]["hits"]]


def indexed_imputed_hours(es, run_id: str) -> float:
    """`details.imputed_hours` summed by the cluster (so: mapped, as Kibana needs it)."""
    response = es.search(
        index=f"{SESSION_INDEX_PREFIX}-*",
        size=0,
        query={"bool": {"filter": [{"term": {"airflow.run_id": run_id}}, {"term": {"event": "model_execution"}}]}},
        aggs={"imputed": {"sum": {"field": "details.imputed_hours"}}},
    )
    return response["aggregations"]["imputed"]["value"]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_has_its_documented_outcome(name, pipeline, data_root, es) -> None:
    _, outcome = CASES[name]
    run = run_case(pipeline, data_root, name)
    tis = {(ti.task_id, ti.map_index): ti for ti in run.get_task_instances()}
    docs = health_documents(es, run.run_id)
    if isinstance(outcome, Fails):
        assert_fails(outcome, run, tis, docs)
    else:
        assert_scores(outcome, run, tis, docs, data_root)
        assert indexed_imputed_hours(es, run.run_id) == outcome.imputed_hours


def assert_fails(outcome: Fails, run, tis, docs) -> None:
    extract = tis[("extract", -1)]
    assert state_of(run) == "failed" and state_of(extract) == "failed"
    assert extract.try_number == outcome.tries
    for task in ("choose_model", "make_shards", "detect", "persist"):
        assert state_of(tis[(task, -1)]) == "upstream_failed", task
    mine = [d for d in docs if d["event"] == "task_execution" and d["airflow"]["task_id"] == "extract"]
    failed = [d for d in mine if d["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["log_level"] == "ERROR", mine
    assert re.search(outcome.message, failed[0]["error_message"]), failed[0]["error_message"]
    assert len([d for d in mine if d["status"] == "up_for_retry"]) == outcome.tries - 1
    assert failed[0]["airflow"]["try_number"] == outcome.tries


def assert_scores(outcome: Scores, run, tis, docs, data_root: Path) -> None:
    assert state_of(run) == "success", task_states(run)
    report = tis[("extract", -1)].xcom_pull(task_ids="extract")
    assert report["bad_rows"] == outcome.bad_rows

    with open(layout.anomalies_file(data_root, DAY), "rb") as handle:
        rows = pd.read_parquet(handle)
    scored = set(REGIONS) - outcome.unscorable
    assert set(rows.region) == scored and set(rows.run_id) == {run.run_id}
    assert not rows.is_anomaly.any(), "a clean day with a few bad readings is not an anomaly"

    done = [d for d in docs if d["event"] == "model_execution" and d["status"] == "completed"]
    accounted = set(REGIONS) | outcome.unscorable
    assert len(done) == math.ceil(len(accounted) / 2), "every region is in a shard of 2"
    assert sum(d["details"]["successful_predictions"] for d in done) == len(scored)
    assert sum(d["details"]["failed_predictions"] for d in done) == len(outcome.unscorable)
    assert {r for d in done for r in d["details"]["unscorable_regions"]} == outcome.unscorable
    assert sum(d["details"]["imputed_hours"] for d in done) == outcome.imputed_hours
