"""`make demo`'s main job: run the daily pipeline for the last N days in date order (one
`dag.test()` per day, in this process, against the local metadata DB, Elasticsearch and
MLflow), then write a per-date summary: region-days scored, anomalies, model version, and the
documents each run left in Elasticsearch (task health, and detection rows in `anomalies`).

Usage: python -m scripts.demo_pipeline --days 14 --end 2026-11-28 --summary summary.txt
(Airflow's own task output goes to stdout/stderr; the summary goes to the --summary file.)

Each run is checked (`run_problems`): every task instance must have succeeded and `persist`
must have written rows. The first run that fails the check stops the demo: it prints the day
and the task(s) to stderr and exits 1 (a run that processed nothing never counts as success).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

EXPECTED_TASKS = ("resolve_day", "extract", "choose_model", "make_shards", "detect", "persist")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="day after the last processed day")
    parser.add_argument("--summary", type=Path, required=True, help="file the summary is written to")
    args = parser.parse_args()
    lines: list[str] = []

    from include.airflow_compat import read_connections_from_metadata_db

    read_connections_from_metadata_db()  # before Airflow loads its secrets backends
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder="dags").get_dag("hourly_anomaly_detection")
    first = args.end - timedelta(days=args.days)
    runs = []
    for offset in range(args.days):
        day = first + timedelta(days=offset)
        # The day as the run's logical date too, as a scheduled run or a backfill has it, so the
        # documents land on the processed day in Kibana's "by logical date" panels.
        logical_date = datetime.combine(day, time.min, tzinfo=UTC)
        run = dag.test(logical_date=logical_date, run_conf={"date": day.isoformat()})
        states = {task_label(ti): str(getattr(ti.state, "value", ti.state) or "") for ti in run.get_task_instances()}
        persist = run.get_task_instance("persist")
        problems = run_problems(day, states, persist.xcom_pull(task_ids="persist") if persist else None)
        if problems:
            print(f"[demo] the run of {day} did not process the day:", *problems, sep="\n  ", file=sys.stderr)
            return 1
        runs.append((day, run))
    documents = DocumentCounter()
    lines.append(f"{'date':<12}{'state':<9}{'scored':>7}{'anomalies':>10}{'health docs':>13}{'rows in ES':>12}  model")
    for day, run in runs:
        persisted = run.get_task_instance("persist").xcom_pull(task_ids="persist") or {}
        model = run.get_task_instance("choose_model").xcom_pull(task_ids="choose_model") or {}
        lines.append(
            f"{day.isoformat():<12}{getattr(run.state, 'value', run.state)!s:<9}"
            f"{persisted.get('rows', 0):>7}{persisted.get('anomalies', 0):>10}"
            f"{documents.task_health(run.run_id):>13}{documents.anomalies(day):>12}  "
            f"version {model.get('version', '-')} (trained on [{model.get('train_start')}, {model.get('train_end')}))"
        )
    args.summary.write_text("\n".join(lines) + "\n")
    return 0


def task_label(ti: Any) -> str:
    return f"{ti.task_id}[{ti.map_index}]" if ti.map_index is not None and ti.map_index >= 0 else ti.task_id


def run_problems(day: date, task_states: dict[str, str], persisted: dict[str, Any] | None) -> list[str]:
    """Why the run of `day` does not count as having processed it; empty when it does.

    `task_states`: {task id, or "detect[i]" for a mapped instance: state}; `persisted`: what
    `persist` returned (XCom), None when it returned nothing.
    """
    if not task_states:
        return [f"{day}: no task ran (is the day before the DAG's start_date?)"]
    problems = [
        f"{day}: task {task} ended {state or 'without a state (never ran)'}"
        for task, state in sorted(task_states.items())
        if state != "success"
    ]
    ran = {task.split("[", 1)[0] for task in task_states}
    problems += [f"{day}: task {task} has no task instance" for task in EXPECTED_TASKS if task not in ran]
    if task_states.get("persist") == "success":
        rows = (persisted or {}).get("rows") or 0
        if rows <= 0:
            problems.append(f"{day}: task persist wrote {rows} rows (nothing was scored)")
    return problems


class DocumentCounter:
    """Counts what a run left in Elasticsearch, through the task-health connection."""

    def __init__(self) -> None:
        from include.anomaly.index import anomalies_index
        from include.delivery.client import ElasticsearchClientHook
        from include.task_health.settings import TaskHealthSettings

        self.settings = TaskHealthSettings.from_env()
        self.anomalies_index = anomalies_index()
        self.client = ElasticsearchClientHook(self.settings.delivery.conn_id).client
        self.client.indices.refresh(index=[f"{self.settings.index_prefix}-*", self.anomalies_index])

    def task_health(self, run_id: str) -> int:
        query = {"term": {"airflow.run_id": run_id}}
        return self.client.count(index=f"{self.settings.index_prefix}-*", query=query)["count"]

    def anomalies(self, day: date) -> int:
        query = {"term": {"date": day.isoformat()}}
        return self.client.count(index=self.anomalies_index, query=query)["count"]


if __name__ == "__main__":
    raise SystemExit(main())
