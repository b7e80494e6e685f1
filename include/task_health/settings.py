"""Task-health tunables: environment variables with defaults, read when used (not at import),
so a test or a deployment can change them without reloading modules. README.md lists them.
Where and how the documents travel is the delivery layer's (`delivery.settings`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from include.delivery.settings import DeliverySettings, env_float


@dataclass(frozen=True)
class TaskHealthSettings:
    enabled: bool
    index_prefix: str
    application_name: str
    sample_interval_s: float
    task_logs_index: str  # where Airflow's remote logging writes task logs (AIRFLOW_TASK_LOGS_INDEX)
    delivery: DeliverySettings

    @classmethod
    def from_env(cls) -> TaskHealthSettings:
        return cls(
            enabled=os.environ.get("TASK_HEALTH_ENABLED", "true").lower() not in {"0", "false", "no"},
            index_prefix=os.environ.get("TASK_HEALTH_INDEX_PREFIX", "task-health"),
            application_name=os.environ.get("TASK_HEALTH_APPLICATION_NAME", "airflow-anomaly-detection"),
            sample_interval_s=env_float("TASK_HEALTH_SAMPLE_INTERVAL_S", 0.5),
            task_logs_index=os.environ.get("AIRFLOW_TASK_LOGS_INDEX", "airflow-logs"),
            delivery=DeliverySettings.from_env(),
        )
