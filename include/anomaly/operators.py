"""The detect step as a custom operator: it emits the seed's `model_execution` events (via
`ModelExecutionOperator`) around scoring one shard of regions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from include.task_health.operator import ModelExecutionOperator, ModelRun

if TYPE_CHECKING:
    from airflow.sdk import Context


class DetectAnomaliesOperator(ModelExecutionOperator):
    """Scores one shard of regions for one day; returns the rows (XCom) for `persist`."""

    template_fields = ("day", "regions", "model", "staged", "false_alarm_rate")

    def __init__(
        self, *, day: Any, regions: Any, model: Any, staged: Any, false_alarm_rate: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.day, self.regions, self.model, self.false_alarm_rate = day, regions, model, false_alarm_rate
        self.staged = staged  # extract's reference to the run's staged files

    def run_model(self, context: Context) -> ModelRun:
        from datetime import date

        from include.anomaly import pipeline

        out = pipeline.detect(
            date.fromisoformat(self.day),
            list(self.regions),
            self.model,
            float(self.false_alarm_rate) if self.false_alarm_rate not in (None, "", "None") else None,
            self.staged,
            context["run_id"],
        )
        for region, why in sorted(out["unscorable"].items()):
            self.log.warning("region %s not scored: %s", region, why)
        return ModelRun(
            model_version=str(self.model["version"]),
            registered_model_name=self.model["name"],
            anomalies_count=sum(1 for r in out["rows"] if r["is_anomaly"]),
            successful_predictions=len(out["rows"]),
            failed_predictions=len(out["unscorable"]),
            output=out,
            details={
                "day": self.day,
                "unscorable_regions": sorted(out["unscorable"]),
                "imputed_hours": out["imputed_hours"],
                "false_alarm_rate": out["false_alarm_rate"],
                "score_threshold": out["score_threshold"],
            },
        )
