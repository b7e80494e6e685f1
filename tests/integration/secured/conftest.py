"""Each module writes as the secured node's least-privilege writer under a prefix of its own,
as a production deployment does: the admin installs the templates first, and the writer's
processes never touch them (TASK_HEALTH_MANAGE_TEMPLATES=false). Users and roles a test makes
are named after the prefix, and removed with its indices."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration.task_health.conftest import TaskHealthTarget
from tests.secured import SecuredNode
from tests.support import delete_indices, delivery_command


@pytest.fixture(scope="module")
def secured(secured_node: SecuredNode, tmp_path_factory, airflow_db) -> Iterator[TaskHealthTarget]:
    """This module's prefix on the secured node, its templates installed by the admin, and the
    writer (basic auth, the CA in the connection's extras) as `elasticsearch_default`."""
    prefix = f"th-secured-{uuid.uuid4().hex[:10]}"
    spool_dir = tmp_path_factory.mktemp("secured") / "spool"
    admin = secured_node.admin()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
        patch.setenv("ANOMALIES_INDEX", f"{prefix}_anomalies")
        patch.setenv("TASK_HEALTH_SPOOL_DIR", str(spool_dir))
        patch.setenv("TASK_HEALTH_MANAGE_TEMPLATES", "false")
        patch.setenv("AIRFLOW_TASK_LOGS_INDEX", f"{prefix}_airflow-logs")
        patch.setenv("AIRFLOW_CONN_ELASTICSEARCH_ADMIN", secured_node.connection_json("admin"))
        patch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", secured_node.connection_json("writer"))
        delivery_command("install-templates", "--conn-id", "elasticsearch_admin", check=True)
        yield TaskHealthTarget(prefix, spool_dir, admin)
    delete_indices(admin, f"{prefix}*")
    # The users and roles tests made for themselves are named after the prefix.
    for user in admin.security.get_user():
        if user.startswith(prefix):
            admin.security.delete_user(username=user)
    for role in admin.security.get_role():
        if role.startswith(prefix):
            admin.security.delete_role(name=role)
    admin.close()
