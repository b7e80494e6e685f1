"""`make demo`'s main job: run the daily pipeline for the last N days in date order (one
`dag.test()` per day, in this process, against the local metadata DB, Elasticsearch and
MLflow), then print a per-date summary and the evaluation against the demo labels.

Usage: python -m scripts.demo_pipeline --days 14 --end 2026-11-28 --summary summary.txt
(Airflow's own task output goes to stdout/stderr; the summary goes to the --summary file.)
"""

from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="day after the last processed day")
    parser.add_argument("--summary", type=Path, required=True, help="file the summary is written to")
    args = parser.parse_args()
    lines: list[str] = []

    from airflow.dag_processing.dagbag import DagBag

    from include.anomaly import pipeline
    from include.anomaly.evaluation import evaluate

    dag = DagBag(dag_folder="dags").get_dag("hourly_anomaly_detection")
    root = pipeline.data_root()
    first = args.end - timedelta(days=args.days)
    lines.append(f"{'date':<12}{'state':<9}{'scored':>7}{'anomalies':>10}  model version")
    for offset in range(args.days):
        day = first + timedelta(days=offset)
        run = dag.test(run_conf={"date": day.isoformat()})
        persisted = run.get_task_instance("persist").xcom_pull(task_ids="persist") or {}
        model = run.get_task_instance("choose_model").xcom_pull(task_ids="choose_model") or {}
        lines.append(
            f"{day.isoformat():<12}{getattr(run.state, 'value', run.state)!s:<9}"
            f"{persisted.get('rows', 0):>7}{persisted.get('anomalies', 0):>10}  "
            f"{model.get('version', '-')} (trained on [{model.get('train_start')}, {model.get('train_end')}))"
        )
    report = evaluate(root, first, args.end)
    for name in ("model", "baseline"):
        q = report[name]
        lines.append(f"{name:<9} precision {q['precision']:.3f}  recall {q['recall']:.3f}  F1 {q['f1']:.3f}")
    lines.append(f"evaluated {report['region_days']} region-days against the demo labels")
    lines.append(json.dumps(report))
    args.summary.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
