"""Task-health tunables: environment variables with defaults, read when used (not at import),
so a test or a deployment can change them without reloading modules. README.md lists them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from include.state import state_dir


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class TaskHealthSettings:
    enabled: bool
    conn_id: str
    index_prefix: str
    application_name: str
    spool_dir: Path
    request_timeout_s: float
    ship_budget_s: float
    cooldown_s: float
    sample_interval_s: float
    replay_batch_limit: int
    anomalies_index: str
    task_logs_index: str  # where Airflow's remote logging writes task logs (AIRFLOW_TASK_LOGS_INDEX)

    @classmethod
    def from_env(cls) -> TaskHealthSettings:
        return cls(
            enabled=os.environ.get("TASK_HEALTH_ENABLED", "true").lower() not in {"0", "false", "no"},
            conn_id=os.environ.get("TASK_HEALTH_CONN_ID", "elasticsearch_default"),
            index_prefix=os.environ.get("TASK_HEALTH_INDEX_PREFIX", "task-health"),
            application_name=os.environ.get("TASK_HEALTH_APPLICATION_NAME", "airflow-anomaly-detection"),
            spool_dir=Path(os.environ.get("TASK_HEALTH_SPOOL_DIR", state_dir() / "task_health")),
            request_timeout_s=_float("TASK_HEALTH_REQUEST_TIMEOUT_S", 2.0),
            ship_budget_s=_float("TASK_HEALTH_SHIP_BUDGET_S", 6.0),
            cooldown_s=_float("TASK_HEALTH_COOLDOWN_S", 30.0),
            sample_interval_s=_float("TASK_HEALTH_SAMPLE_INTERVAL_S", 0.5),
            replay_batch_limit=int(_float("TASK_HEALTH_REPLAY_BATCH_LIMIT", 5000)),
            anomalies_index=os.environ.get("ANOMALIES_INDEX", "anomalies"),
            task_logs_index=os.environ.get("AIRFLOW_TASK_LOGS_INDEX", "airflow-logs"),
        )
