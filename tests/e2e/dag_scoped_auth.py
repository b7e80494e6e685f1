"""Airflow's SimpleAuthManager, with users kept to some DAGs, as a deployment's FAB or Keycloak
auth manager keeps them (SimpleAuthManager itself lets every role read every DAG). The
task-health page must honour it through the auth manager's own API, so the browser tests run the
API server with this one (`[core] auth_manager`).

TEST_DAG_ACCESS: JSON {"user name": ["dag id", ...]}; a user not named there keeps its role's access.
"""

from __future__ import annotations

import json
import os
from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager


class DagScopedAuthManager(SimpleAuthManager):
    def is_authorized_dag(self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None) -> bool:
        scoped = json.loads(os.environ.get("TEST_DAG_ACCESS", "{}")).get(user.get_name())
        if scoped is not None and (details is None or details.id not in scoped):
            return False
        return super().is_authorized_dag(method=method, user=user, access_entity=access_entity, details=details)
