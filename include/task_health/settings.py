"""Task-health tunables: environment variables with defaults, read when used (not at import),
so a test or a deployment can change them without reloading modules. README.md lists them.
Where and how the documents travel is the delivery layer's (`delivery.settings`)."""

from __future__ import annotations

import fnmatch
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
    plugin_enabled: bool = True  # the `task_health` plugin's listener (TASK_HEALTH_PLUGIN)
    plugin_dags: tuple[str, ...] = ()  # DAG id patterns it covers (empty: every DAG)
    plugin_exclude_dags: tuple[str, ...] = ()  # DAG id patterns it leaves alone
    reconciler_enabled: bool = True  # terminal documents for killed tries (TASK_HEALTH_RECONCILER)
    sweep_interval_s: float = 15.0  # the scheduler's reconciler sweep (0: only at each run's end)

    def reconciles(self) -> bool:
        """Whether the plugin's reconciler runs (at each run's end, and in the sweep)."""
        return self.enabled and self.plugin_enabled and self.reconciler_enabled

    def plugin_covers(self, dag_id: str) -> bool:
        """Whether the plugin emits for `dag_id` (fnmatch patterns; exclusion wins)."""
        if not (self.enabled and self.plugin_enabled):
            return False
        if any(fnmatch.fnmatchcase(dag_id, p) for p in self.plugin_exclude_dags):
            return False
        return not self.plugin_dags or any(fnmatch.fnmatchcase(dag_id, p) for p in self.plugin_dags)

    @classmethod
    def from_env(cls) -> TaskHealthSettings:
        return cls(
            enabled=_flag("TASK_HEALTH_ENABLED"),
            index_prefix=os.environ.get("TASK_HEALTH_INDEX_PREFIX", "task-health"),
            application_name=os.environ.get("TASK_HEALTH_APPLICATION_NAME", "airflow-anomaly-detection"),
            sample_interval_s=env_float("TASK_HEALTH_SAMPLE_INTERVAL_S", 0.5),
            task_logs_index=os.environ.get("AIRFLOW_TASK_LOGS_INDEX", "airflow-logs"),
            delivery=DeliverySettings.from_env(),
            plugin_enabled=_flag("TASK_HEALTH_PLUGIN"),
            plugin_dags=_patterns("TASK_HEALTH_PLUGIN_DAGS"),
            plugin_exclude_dags=_patterns("TASK_HEALTH_PLUGIN_EXCLUDE_DAGS"),
            reconciler_enabled=_flag("TASK_HEALTH_RECONCILER"),
            sweep_interval_s=env_float("TASK_HEALTH_SWEEP_INTERVAL_S", 15.0),
        )


def _flag(variable: str) -> bool:
    """An on/off setting that is on unless set to 0, false or no."""
    return os.environ.get(variable, "true").lower() not in {"0", "false", "no"}


def _patterns(variable: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in os.environ.get(variable, "").split(",") if p.strip())
