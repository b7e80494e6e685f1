"""A base operator whose `execute` emits the seed's `model_execution` events around the work.

Subclasses implement `run_model(context) -> ModelRun`; the base emits `started`, then either
`completed` (response time, CPU/memory, `model_version`, `registered_model_name`, `details.*`)
or `failed` (`error_message`, `error_type`) and re-raises, so Airflow's own retry/failure
handling and the task callbacks still see the error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import BaseOperator

from include.task_health.context import task_ref
from include.task_health.document import MODEL_NAME, AirflowRef, HealthEvent, ResourceUsage
from include.task_health.emitter import emit, never_raise
from include.task_health.settings import TaskHealthSettings


@dataclass(frozen=True)
class ModelRun:
    """What one model execution produced; `output` is the operator's return value (XCom).
    `registered_model_name` is the MLflow registry name `model_version` is a version of."""

    model_version: str | None
    anomalies_count: int
    successful_predictions: int
    failed_predictions: int = 0
    output: Any = None
    details: dict[str, Any] = field(default_factory=dict)
    registered_model_name: str | None = None


class ModelExecutionOperator(BaseOperator):
    """Base for operators that run a model; nothing expensive happens before `execute`."""

    model_name: str = MODEL_NAME

    def run_model(self, context: Any) -> ModelRun:
        raise NotImplementedError(f"{type(self).__name__} must implement run_model(context)")

    def execute(self, context: Any) -> Any:
        settings, ref, sampler = None, None, None
        with never_raise("model_execution start"):
            from include.task_health.resources import ResourceSampler, snapshot

            settings = TaskHealthSettings.from_env()
            ref = task_ref(context)
            self._emit(settings, ref, "started", resources=snapshot())
            sampler = ResourceSampler(settings.sample_interval_s).start()
        started = time.perf_counter()
        try:
            run = self.run_model(context)
        except BaseException as err:  # timeouts and termination are BaseExceptions in the SDK
            kind = type(err).__name__
            self._finish(settings, ref, sampler, started, "failed", error_message=str(err) or kind, error_type=kind)
            raise
        details = {
            "anomalies_count": run.anomalies_count,
            "successful_predictions": run.successful_predictions,
            "failed_predictions": run.failed_predictions,
            **run.details,
        }
        model = {"model_version": run.model_version, "registered_model_name": run.registered_model_name}
        self._finish(settings, ref, sampler, started, "completed", **model, details=details)
        return run.output

    def _finish(self, settings, ref, sampler, started: float, status: str, **fields: Any) -> None:
        """Emit the closing event; task health never turns a model's outcome into another one."""
        with never_raise(f"model_execution {status}"):
            if settings is None or ref is None:
                return
            resources = sampler.stop() if sampler is not None else ResourceUsage()
            self._emit(
                settings, ref, status, response_time=time.perf_counter() - started, resources=resources, **fields
            )

    def _emit(self, settings: TaskHealthSettings, ref: AirflowRef, status: str, **fields: Any) -> None:
        now = datetime.now(UTC)
        emit(
            HealthEvent(
                "model_execution", status, now, ref, settings.application_name, model_name=self.model_name, **fields
            )
        )
