"""
### Hourly anomaly detection (daily)

Each run processes one UTC day of hourly regional readings
(`<DATA_ROOT>/landing/hourly/date=YYYY-MM-DD/`): it validates the day's partition, picks the
MLflow registry version trained only on days before it (training one on the weekly cadence
when none exists), scores every region-day in shards, and writes the day's anomalies to
`<DATA_ROOT>/anomalies/date=YYYY-MM-DD/` and to the `anomalies` index. Every task emits
task-health documents; the detect step also emits `model_execution` documents.

**Which day:** the `date` param when set; else the run's data interval (scheduled runs and
backfills: the day the interval starts); else yesterday (UTC) — a manual run with no logical
date. Re-running a day replaces its outputs (a run with `regions`: only those regions' rows).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from include.anomaly.operators import DetectAnomaliesOperator
from include.task_health.callbacks import with_task_health

if TYPE_CHECKING:
    from include.anomaly.pipeline import DetectOutput, ExtractReport, ModelReport, PersistReport

DEFAULT_ARGS = {"owner": "data-platform", "retries": 2, "retry_delay": timedelta(minutes=1)}

PARAMS = {
    "date": Param(
        None,
        type=["null", "string"],
        format="date",
        title="Day to process",
        description="UTC day (YYYY-MM-DD). Empty: the run's data interval, or yesterday without one.",
    ),
    "regions": Param(
        [], type="array", items={"type": "string"}, title="Regions", description="Empty: every region in the data."
    ),
    "retrain": Param(False, type="boolean", title="Retrain", description="Train a new model up to this day."),
    "false_alarm_rate": Param(
        None,
        type=["null", "number"],
        minimum=0.0001,
        maximum=0.2,
        title="False-alarm rate",
        description="Share of normal region-days allowed to be flagged (e.g. 0.01). Empty: the rate the model "
        "was calibrated to (ANOMALY_FALSE_ALARM_RATE, default 1 %).",
    ),
    "shard_size": Param(50, type="integer", minimum=1, title="Shard size", description="Regions per detect task."),
}


@dag(
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    # Far back, so runs of any past day (backfill, dag.test) run their tasks: a run dated before
    # start_date "succeeds" without running any. catchup=False: the scheduler creates no past runs.
    start_date=datetime(2000, 1, 1),
    catchup=False,
    max_active_runs=3,
    params=PARAMS,
    tags=["anomaly", "mlflow", "task-health"],
    doc_md=__doc__,
    **with_task_health(DEFAULT_ARGS),
)
def hourly_anomaly_detection() -> None:
    @task
    def resolve_day(**context: Any) -> str:
        from include.anomaly import pipeline

        day = pipeline.resolve_day(
            context["params"].get("date"), context.get("data_interval_start"), context["dag_run"].run_after
        )
        return day.isoformat()

    # multiple_outputs: each key of the report is also an XCom of its own, so detect and persist
    # take `found["staged"]` (the staged files' locations) without the rest of the report.
    @task(multiple_outputs=True)
    def extract(day: str, **context: Any) -> ExtractReport:
        from datetime import date

        from include.anomaly import pipeline

        return pipeline.extract(
            date.fromisoformat(day), context["params"]["regions"], pipeline.data_root(), context["run_id"]
        )

    # multiple_outputs=False here and on persist: a dict-typed return alone would turn it on.
    @task(pool="model_registry", multiple_outputs=False)
    def choose_model(day: str, **context: Any) -> ModelReport:
        from datetime import date

        from include.anomaly import pipeline

        return pipeline.choose_model(date.fromisoformat(day), context["params"]["retrain"], pipeline.data_root())

    @task
    def make_shards(found: ExtractReport, model: ModelReport, **context: Any) -> list[list[str]]:
        from include.anomaly import pipeline

        regions = pipeline.regions_to_score(found, model["regions"], context["params"]["regions"])
        return pipeline.shards(regions, context["params"]["shard_size"])

    @task(multiple_outputs=False)
    def persist(day: str, detected: list[DetectOutput], staged: dict[str, str], **context: Any) -> PersistReport:
        from datetime import date

        from include.anomaly import pipeline

        return pipeline.persist(
            date.fromisoformat(day), list(detected), pipeline.data_root(), staged, context["params"]["regions"]
        )

    # Each XComArg below stands for its task's value when the DAG runs; TaskFlow types every
    # one as XComArg, not as that value, so the wiring holds them as Any.
    day: Any = resolve_day()
    found: Any = extract(day)
    staged = found["staged"]  # extract -> detect, persist: where the run's validated region-days are
    model: Any = choose_model(day)
    found >> model
    detected = DetectAnomaliesOperator.partial(
        task_id="detect", day=day, model=model, staged=staged, false_alarm_rate="{{ params.false_alarm_rate }}"
    ).expand(regions=make_shards(found, model))
    detected_rows: Any = detected.output
    persist(day, detected_rows, staged)


hourly_anomaly_detection()
