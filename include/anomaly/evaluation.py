"""Score the pipeline's flags against the demo data's labels over a date range, next to a
baseline measured in the same run: a default IsolationForest on each region-day's raw 24
values, trained on as many days before each date as the model (ANOMALY_TRAINING_WINDOW_DAYS).

`python -m include.anomaly.evaluation --start D1 --end D2` prints the figures, logs them to
MLflow (a run in the pipeline's experiment) and ships a `model_evaluation` task-health document,
so Kibana shows model quality next to task health. `--require-target` exits 1 when the model
misses the target: F1 >= 0.9 and >= the baseline's F1 + 0.3. Exit codes: 0 done, 2 a day lacks
labels or pipeline output, 3 target missed (with --require-target); 1 is an unexpected error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypedDict

import numpy as np
import pandas as pd

from include.anomaly import layout, settings
from include.anomaly.calendar import DAY_KIND_NAMES
from include.anomaly.evaluation_figure import write_figure
from include.anomaly.history import load_history
from include.anomaly.partition import read_partition, region_days

if TYPE_CHECKING:
    from include.anomaly.layout import DataPath

FIGURE_NAME = "evaluation.png"


class Breakdown(TypedDict):
    recall_by_kind: dict[str, float]
    false_alarm_rate_by_day: dict[str, float]  # Mon … Sun, holiday
    false_alarm_rate: float  # over every normal region-day


def breakdown(kinds: list[str], day_kinds: list[str], flagged: list[bool]) -> Breakdown:
    """Where a detector fails: recall per anomaly kind, and the false-alarm rate of normal
    region-days per day of the week (`Mon`…`Sun`) and on public holidays (`holiday`)."""
    recall: dict[str, list[bool]] = {}
    false_alarms: dict[str, list[bool]] = {}
    for kind, day_kind, flag in zip(kinds, day_kinds, flagged, strict=True):
        if kind:
            recall.setdefault(kind, []).append(flag)
        else:
            false_alarms.setdefault(day_kind, []).append(flag)
    order = [*DAY_KIND_NAMES, "holiday"]
    return {
        "recall_by_kind": {k: float(np.mean(v)) for k, v in sorted(recall.items())},
        "false_alarm_rate_by_day": {k: float(np.mean(false_alarms[k])) for k in order if k in false_alarms},
        "false_alarm_rate": float(np.mean([f for v in false_alarms.values() for f in v])) if false_alarms else 0.0,
    }


def quality(truth: list[bool], flagged: list[bool]) -> dict[str, float]:
    tp = sum(t and f for t, f in zip(truth, flagged, strict=True))
    fp = sum(f and not t for t, f in zip(truth, flagged, strict=True))
    fn = sum(t and not f for t, f in zip(truth, flagged, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


TARGET_F1 = 0.9
TARGET_GAIN_OVER_BASELINE = 0.3


class EvaluationError(ValueError):
    """A day in the range lacks labels or pipeline output; the message says which and why."""


def _read(path: DataPath, what: str, reader: Callable[[IO[bytes]], pd.DataFrame]) -> pd.DataFrame:
    if not path.exists():
        raise EvaluationError(f"{path}: no {what}")
    with path.open("rb") as handle:
        return reader(handle)


def _baseline_flags(root: DataPath, day: date, regions: list[str], window_days: int) -> dict[str, bool]:
    from sklearn.ensemble import IsolationForest

    history = load_history(root, day - timedelta(days=window_days), day)
    rows, _ = read_partition(layout.landing_partition(root, day), day, settings.max_plausible_value())
    found = region_days(rows, expected_regions=regions)
    forest = IsolationForest(random_state=0).fit(np.vstack(list(history.values())))
    return dict(zip(found.regions, forest.predict(found.values) == -1, strict=True))


def evaluate(root: DataPath, start: date, end: date, window_days: int = 28) -> dict[str, Any]:
    """Precision, recall and F1 of the pipeline's flags and of the baseline over [start, end)."""
    if start >= end:
        raise EvaluationError(f"empty date range [{start}, {end})")
    truth: list[bool] = []
    ours: list[bool] = []
    baseline: list[bool] = []
    versions: set[str] = set()
    kinds: list[str] = []
    day_kinds: list[str] = []
    regions: list[str] = []
    dates: list[str] = []
    day = start
    while day < end:
        labels = _read(layout.labels_file(root, day), "labels", pd.read_csv)
        output = _read(
            layout.anomalies_file(root, day), "pipeline output (run the pipeline for this day)", pd.read_parquet
        )
        flagged = output.set_index("region")["is_anomaly"].to_dict()
        versions.update(str(v) for v in output["model_version"])
        base = _baseline_flags(root, day, list(labels.region), window_days)
        holiday = labels["holiday"].astype(bool) if "holiday" in labels else pd.Series(False, index=labels.index)
        for region, is_anomaly, kind, on_holiday in zip(
            labels.region, labels.is_anomaly, labels.kind.astype(object).fillna(""), holiday, strict=True
        ):
            truth.append(bool(is_anomaly))
            ours.append(bool(flagged.get(region, False)))
            baseline.append(bool(base.get(region, False)))
            kinds.append(str(kind) if is_anomaly else "")
            day_kinds.append("holiday" if on_holiday else DAY_KIND_NAMES[day.weekday()])
            regions.append(region)
            dates.append(day.isoformat())
        day += timedelta(days=1)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "region_days": len(truth),
        "model_versions": sorted(versions, key=int),
        "model": {**quality(truth, ours), **breakdown(kinds, day_kinds, ours)},
        "baseline": {**quality(truth, baseline), **breakdown(kinds, day_kinds, baseline)},
        "outcomes": {"region": regions, "date": dates, "kind": kinds, "flagged": ours, "day_kind": day_kinds},
    }


def meets_target(report: dict[str, Any]) -> bool:
    model: float = report["model"]["f1"]
    baseline: float = report["baseline"]["f1"]
    return model >= TARGET_F1 and model >= baseline + TARGET_GAIN_OVER_BASELINE


def log_to_mlflow(report: dict[str, Any]) -> str:
    """One run in the pipeline's experiment; returns its id."""
    import mlflow

    from include.anomaly import mlflow_store
    from include.anomaly.registry import EXPERIMENT

    mlflow_store.configure()
    experiment_id = mlflow_store.ensure_experiment(EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"evaluate-{report['start']}-{report['end']}") as run:
        mlflow.set_tags({"kind": "evaluation", "model_name": settings.model_name()})
        mlflow.log_params(
            {
                "start": report["start"],
                "end": report["end"],
                "model_versions": ",".join(report["model_versions"]),
                "baseline": "IsolationForest(random_state=0) on raw 24 hourly values",
            }
        )
        metrics = {"region_days": report["region_days"], "target_met": float(meets_target(report))}
        for name in ("model", "baseline"):
            prefix = "" if name == "model" else "baseline_"
            metrics.update({f"{prefix}{k}": float(report[name][k]) for k in ("precision", "recall", "f1")})
        metrics["f1_gain_over_baseline"] = report["model"]["f1"] - report["baseline"]["f1"]
        for name in ("model", "baseline"):
            prefix = "" if name == "model" else "baseline_"
            metrics[f"{prefix}false_alarm_rate"] = report[name]["false_alarm_rate"]
            metrics.update({f"{prefix}recall_{k}": v for k, v in report[name]["recall_by_kind"].items()})
            metrics.update(
                {f"{prefix}false_alarm_rate_{k}": v for k, v in report[name]["false_alarm_rate_by_day"].items()}
            )
        mlflow.log_metrics(metrics)
        mlflow.log_dict(report, "evaluation.json")
        with tempfile.TemporaryDirectory() as scratch:
            mlflow.log_artifact(str(write_figure(report, Path(scratch) / FIGURE_NAME)))
        return str(run.info.run_id)


def figure_uri(mlflow_run_id: str) -> str:
    """Where the run's figure is (a local path for a file artifact store)."""
    from mlflow import MlflowClient

    uri = f"{MlflowClient().get_run(mlflow_run_id).info.artifact_uri.rstrip('/')}/{FIGURE_NAME}"
    return uri.removeprefix("file://")


def evaluation_event(report: dict[str, Any], mlflow_run_id: str, finished: datetime) -> Any:
    """The `model_evaluation` task-health document's event: the range as its data interval."""
    from include.task_health.document import MODEL_NAME, AirflowRef, HealthEvent
    from include.task_health.settings import TaskHealthSettings

    model, baseline = report["model"], report["baseline"]
    where = AirflowRef(
        dag_id="hourly_anomaly_detection",
        run_id=f"evaluation__{mlflow_run_id}",
        run_type="evaluation",
        data_interval_start=datetime.fromisoformat(report["start"]).replace(tzinfo=UTC),
        data_interval_end=datetime.fromisoformat(report["end"]).replace(tzinfo=UTC),
    )
    return HealthEvent(
        "model_evaluation",
        "completed",
        finished,
        where,
        TaskHealthSettings.from_env().application_name,
        model_name=MODEL_NAME,
        model_version=",".join(report["model_versions"]),
        registered_model_name=settings.model_name(),
        details={
            "region_days": report["region_days"],
            **{k: model[k] for k in ("precision", "recall", "f1", "tp", "fp", "fn")},
            **{f"baseline_{k}": baseline[k] for k in ("precision", "recall", "f1")},
            "target_met": meets_target(report),
            "mlflow_run_id": mlflow_run_id,
            "false_alarm_rate": model["false_alarm_rate"],
            "baseline_false_alarm_rate": baseline["false_alarm_rate"],
            "recall_by_kind": model["recall_by_kind"],
            "false_alarm_rate_by_day": model["false_alarm_rate_by_day"],
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.anomaly.evaluation", description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day (YYYY-MM-DD)")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="day after the last one")
    parser.add_argument("--require-target", action="store_true", help="exit 3 when the target is missed")
    args = parser.parse_args(argv)
    from include.airflow_compat import read_connections_from_metadata_db
    from include.anomaly.pipeline import data_root
    from include.task_health.emitter import emit

    read_connections_from_metadata_db()  # like the scheduler
    try:
        report = evaluate(data_root(), args.start, args.end, settings.PipelineSettings.from_env().training_window_days)
    except EvaluationError as err:
        print(f"evaluation: {err}", file=sys.stderr)
        return 2
    run_id = log_to_mlflow(report)
    shipped = emit(evaluation_event(report, run_id, datetime.now(UTC)))
    for name in ("model", "baseline"):
        q = report[name]
        print(
            f"{name:<9} precision {q['precision']:.3f}  recall {q['recall']:.3f}  F1 {q['f1']:.3f}  "
            f"false alarms {100 * q['false_alarm_rate']:.2f} %"
        )
        print("          recall by kind: " + ", ".join(f"{k} {v:.2f}" for k, v in q["recall_by_kind"].items()))
        by_day = q["false_alarm_rate_by_day"].items()
        print("          false alarms by day: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in by_day))
    met = meets_target(report)
    print(
        f"{report['region_days']} region-days in [{report['start']}, {report['end']}); target (F1 >= {TARGET_F1} and "
        f">= baseline + {TARGET_GAIN_OVER_BASELINE}): {'met' if met else 'MISSED'}; MLflow run {run_id}; "
        f"model_evaluation document {'indexed' if shipped and shipped.delivered else 'spooled'}"
    )
    figure = figure_uri(run_id)
    print(f"figure (flags vs labels, false alarms by day): {figure}")
    summary = {k: v for k, v in report.items() if k != "outcomes"}
    print(json.dumps({**summary, "mlflow_run_id": run_id, "target_met": met, "figure": figure}))
    return 3 if args.require_target and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
