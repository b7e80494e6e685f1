"""Where and how documents are delivered: the Airflow connection, time budgets, the spool root.

Environment variables with defaults, read when used (not at import), so a test or a deployment
can change them without reloading modules; README.md lists them. They keep the `TASK_HEALTH_`
prefix they had when task health was the only producer, so existing deployments keep working.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from include.state import state_dir


def parse_bool(raw: str, name: str) -> bool:
    """true/false, 1/0, yes/no (any case); a ValueError naming `name` otherwise."""
    if raw.strip().lower() in {"true", "1", "yes", "false", "0", "no"}:
        return raw.strip().lower() in {"true", "1", "yes"}
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "")
    return parse_bool(raw, name) if raw.strip() else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class DeliverySettings:
    conn_id: str  # the Airflow connection of the cluster
    spool_root: Path  # each destination spools in its own directory under it
    request_timeout_s: float
    ship_budget_s: float  # the most one `ship` call may spend before spooling
    cooldown_s: float  # after a failed delivery, spool straight away for this long
    replay_batch_limit: int  # spooled actions a successful `ship` re-sends at most
    drain_interval_s: float  # how often a long-lived process looks at its spools (0: never)
    exit_drain_s: float  # what a process that spooled may spend delivering it before it exits (0: nothing)
    adopted_spool_dirs: tuple[str, ...]  # other spool roots (globs) this host drains and reports
    manage_templates: bool = True  # False: templates are the admin's (a least-privilege writer may not)

    @property
    def adopted_spool_roots(self) -> list[Path]:
        """The adopted roots that exist now (a glob matches the spools of hosts as they appear)."""
        roots: list[Path] = []
        for pattern in self.adopted_spool_dirs:
            roots += [path for path in map(Path, sorted(glob.glob(pattern))) if path.is_dir()]
        return roots

    @classmethod
    def from_env(cls) -> DeliverySettings:
        return cls(
            conn_id=os.environ.get("TASK_HEALTH_CONN_ID", "elasticsearch_default"),
            spool_root=Path(os.environ.get("TASK_HEALTH_SPOOL_DIR", state_dir() / "task_health")),
            request_timeout_s=env_float("TASK_HEALTH_REQUEST_TIMEOUT_S", 2.0),
            ship_budget_s=env_float("TASK_HEALTH_SHIP_BUDGET_S", 6.0),
            cooldown_s=env_float("TASK_HEALTH_COOLDOWN_S", 30.0),
            replay_batch_limit=int(env_float("TASK_HEALTH_REPLAY_BATCH_LIMIT", 5000)),
            drain_interval_s=env_float("TASK_HEALTH_DRAIN_INTERVAL_S", 10.0),
            exit_drain_s=env_float("TASK_HEALTH_EXIT_DRAIN_S", 2.0),
            adopted_spool_dirs=tuple(p for p in os.environ.get("TASK_HEALTH_ADOPT_SPOOL_DIRS", "").split(":") if p),
            manage_templates=env_bool("TASK_HEALTH_MANAGE_TEMPLATES", True),
        )
