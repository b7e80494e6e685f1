"""Airflow benchmark DAG (bench_backfill): `hourly_anomaly_detection`'s shape with no work — the
same task ids, pool, dependencies, params and mapping (one detect task per shard of the same
regions), the same task-health callbacks, so a backfill of both measures what the pipeline's
work costs on top of what Airflow and task health cost per task instance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from include.task_health.callbacks import with_task_health

DEFAULT_ARGS = {"owner": "bench", "retries": 2, "retry_delay": timedelta(minutes=1)}


@dag(
    dag_id="backfill_twin",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2000, 1, 1),
    catchup=False,
    max_active_runs=3,
    params={"regions": Param(8, type="integer"), "shard_size": Param(50, type="integer", minimum=1)},
    tags=["bench"],
    **with_task_health(DEFAULT_ARGS),
)
def backfill_twin() -> None:
    @task
    def resolve_day(**context: Any) -> str:
        return str(context["data_interval_start"].date())

    @task(multiple_outputs=True)
    def extract(day: str) -> dict[str, Any]:
        return {"day": day, "staged": {"day": day}}

    @task(pool="model_registry", multiple_outputs=False)
    def choose_model(day: str) -> dict[str, Any]:
        return {"day": day, "version": "1"}

    @task
    def make_shards(found: dict[str, Any], model: dict[str, Any], **context: Any) -> list[list[str]]:
        regions = [f"region_{i:02d}" for i in range(context["params"]["regions"])]
        size = context["params"]["shard_size"]
        return [regions[i : i + size] for i in range(0, len(regions), size)]

    @task(multiple_outputs=False)
    def detect(regions: list[str]) -> dict[str, int]:
        return {"rows": len(regions)}

    @task(multiple_outputs=False)
    def persist(day: str, detected: list[dict[str, int]], staged: dict[str, str]) -> dict[str, int]:
        return {"rows": sum(d["rows"] for d in detected)}

    day: Any = resolve_day()
    found: Any = extract(day)
    model: Any = choose_model(day)
    found >> model
    detected: Any = detect.expand(regions=make_shards(found, model))
    persist(day, detected, found["staged"])


backfill_twin()
