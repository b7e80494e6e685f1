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
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from airflow.sdk import BaseOperator

from include.task_health.context import task_ref
from include.task_health.document import MODEL_NAME, AirflowRef, HealthEvent, ResourceUsage
from include.task_health.emitter import emit, never_raise
from include.task_health.settings import TaskHealthSettings

if TYPE_CHECKING:
    from airflow.sdk import Context

    from include.task_health.resources import ResourceSampler


@dataclass(frozen=True)
class ModelRun:
    """What one model execution produced; `output` is the operator's return value (XCom).
    `registered_model_name` is the MLflow registry name `model_version` is a version of."""

    model_version: str | None
    anomalies_count: int
    successful_predictions: int
    failed_predictions: int = 0
    output: object = None
    details: dict[str, Any] = field(default_factory=dict)
    registered_model_name: str | None = None


class _Outcome(TypedDict, total=False):
    """What a closing event says about the model (the `HealthEvent` fields of that name)."""

    error_message: str
    error_type: str
    model_version: str | None
    registered_model_name: str | None
    details: dict[str, Any]


class _EventFields(_Outcome, total=False):
    """And what the operator measured."""

    response_time: float
    resources: ResourceUsage


class ModelExecutionOperator(BaseOperator):
    """Base for operators that run a model; nothing expensive happens before `execute`."""

    model_name: str = MODEL_NAME

    def run_model(self, context: Context) -> ModelRun:
        raise NotImplementedError(f"{type(self).__name__} must implement run_model(context)")

    def execute(self, context: Context) -> object:
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
        self._finish(
            settings,
            ref,
            sampler,
            started,
            "completed",
            model_version=run.model_version,
            registered_model_name=run.registered_model_name,
            details=details,
        )
        return run.output

    def _finish(
        self,
        settings: TaskHealthSettings | None,
        ref: AirflowRef | None,
        sampler: ResourceSampler | None,
        started: float,
        status: str,
        **fields: Unpack[_Outcome],
    ) -> None:
        """Emit the closing event; task health never turns a model's outcome into another one."""
        with never_raise(f"model_execution {status}"):
            if settings is None or ref is None:
                return
            resources = sampler.stop() if sampler is not None else ResourceUsage()
            self._emit(
                settings, ref, status, response_time=time.perf_counter() - started, resources=resources, **fields
            )

    def _emit(self, settings: TaskHealthSettings, ref: AirflowRef, status: str, **fields: Unpack[_EventFields]) -> None:
        now = datetime.now(UTC)
        emit(
            HealthEvent(
                "model_execution", status, now, ref, settings.application_name, model_name=self.model_name, **fields
            )
        )
