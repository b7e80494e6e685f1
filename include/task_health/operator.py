"""A base operator whose `execute` emits the seed's `model_execution` events around the work.

Subclasses implement `run_model(context) -> ModelRun`; the base emits `started`, then either
`completed` (response time, CPU/memory, `model_version`, `details.*`) or `failed`
(`error_message`, `error_type`) and re-raises, so Airflow's own retry/failure handling and the
task callbacks still see the error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import BaseOperator

from include.task_health.context import task_ref
from include.task_health.document import HealthEvent
from include.task_health.emitter import emit
from include.task_health.settings import TaskHealthSettings


@dataclass(frozen=True)
class ModelRun:
    """What one model execution produced; `output` is the operator's return value (XCom)."""

    model_version: str | None
    anomalies_count: int
    successful_predictions: int
    failed_predictions: int = 0
    output: Any = None
    details: dict[str, Any] = field(default_factory=dict)


class ModelExecutionOperator(BaseOperator):
    """Base for operators that run a model; nothing expensive happens before `execute`."""

    model_name: str = "IsolationForest"

    def run_model(self, context: Any) -> ModelRun:
        raise NotImplementedError(f"{type(self).__name__} must implement run_model(context)")

    def execute(self, context: Any) -> Any:
        from include.task_health.resources import ResourceSampler, snapshot

        settings = TaskHealthSettings.from_env()
        ref = task_ref(context)

        def event(status: str, **fields: Any) -> HealthEvent:
            return HealthEvent(
                "model_execution",
                status,
                datetime.now(UTC),
                ref,
                settings.application_name,
                model_name=self.model_name,
                **fields,
            )

        emit(event("started", resources=snapshot()))
        sampler = ResourceSampler(settings.sample_interval_s).start()
        started = time.perf_counter()
        try:
            run = self.run_model(context)
        except Exception as err:
            from include.task_health.shipper import redact

            emit(
                event(
                    "failed",
                    response_time=time.perf_counter() - started,
                    resources=sampler.stop(),
                    error_message=redact(str(err) or type(err).__name__),
                    error_type=type(err).__name__,
                )
            )
            raise
        emit(
            event(
                "completed",
                response_time=time.perf_counter() - started,
                resources=sampler.stop(),
                model_version=run.model_version,
                details={
                    "anomalies_count": run.anomalies_count,
                    "successful_predictions": run.successful_predictions,
                    "failed_predictions": run.failed_predictions,
                    **run.details,
                },
            )
        )
        return run.output
