"""Task health against a secured cluster, as its least-privilege writer, through real DAG runs.

With the right credentials (basic auth or an API key) every event lands once, under the
template the admin installed. With the wrong ones (password, revoked API key, CA) or a role
without the index: the tasks end as they would anyway, every event is kept in the spool (none
dead-lettered), the log says what to fix and shows no secret, and after the fix a replay
delivers everything exactly once.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.task_health.dags import LIFECYCLE_DOCUMENTS, load_dag
from tests.secured import WRITER, SecuredNode
from tests.support import delivery_command, spool_entry, spooled_actions, state_of

EXPECTED_EVENTS = sum(LIFECYCLE_DOCUMENTS.values())
# th_lifecycle's task states whatever the cluster does: `fail` fails on purpose.
EXPECTED_STATES = {"succeed": "success", "fail": "failed", "flaky": "success", "score": "success"}


def run_lifecycle() -> dict[str, str]:
    run = load_dag("th_lifecycle").test()
    return {ti.task_id: state_of(ti) for ti in run.get_task_instances()}


def use_prefix(monkeypatch, base: str, name: str, spool_dir: Path) -> str:
    """A prefix of this test's own, its templates installed by the admin."""
    prefix = f"{base}_{name}"
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", prefix)
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(spool_dir))
    delivery_command("install-templates", "--conn-id", "elasticsearch_admin", check=True)
    return prefix


def indexed_ids(admin, prefix: str) -> list[str]:
    pattern = f"{prefix}-*"
    if not admin.indices.exists(index=pattern, allow_no_indices=False):
        return []
    admin.indices.refresh(index=pattern)
    return [h["_id"] for h in admin.search(index=pattern, size=1000, source=False)["hits"]["hits"]]


@pytest.mark.parametrize("identity", ["writer", "writer-api-key"])
def test_the_writer_delivers_every_event_once_under_the_admins_template(
    identity, secured, secured_node: SecuredNode, monkeypatch, tmp_path
) -> None:
    prefix = use_prefix(monkeypatch, secured.prefix, identity.replace("-", "_"), tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", secured_node.connection_json(identity))

    assert run_lifecycle() == EXPECTED_STATES
    ids = indexed_ids(secured.es, prefix)
    assert len(ids) == EXPECTED_EVENTS == len(set(ids))
    assert spooled_actions(tmp_path) == []
    # The admin's template, not dynamic mapping: `status` is a keyword, not text.
    mappings = secured.es.indices.get_mapping(index=f"{prefix}-*")
    assert {m["mappings"]["properties"]["status"]["type"] for m in mappings.values()} == {"keyword"}


def test_a_writer_left_to_install_templates_is_told_to_leave_them_to_the_admin(
    secured, secured_node: SecuredNode, monkeypatch, tmp_path, caplog
) -> None:
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", f"{secured.prefix}_manages")
    monkeypatch.setenv("TASK_HEALTH_SPOOL_DIR", str(tmp_path))
    monkeypatch.setenv("TASK_HEALTH_MANAGE_TEMPLATES", "true")
    with caplog.at_level(logging.INFO, logger="include"):
        assert run_lifecycle() == EXPECTED_STATES
    assert len(spooled_actions(tmp_path)) == EXPECTED_EVENTS
    errors = [r.getMessage() for r in caplog.records if r.name.startswith("include.") and r.levelno >= logging.ERROR]
    assert any("may not manage index template" in e and "TASK_HEALTH_MANAGE_TEMPLATES=false" in e for e in errors)
    prefix = f"{secured.prefix}_manages"
    code, report, _ = delivery_command("status")
    assert code == 1 and spool_entry(report, prefix)["problems"], report

    # The fix the message gives: the admin installs the templates, the writer leaves them alone.
    delivery_command("install-templates", "--conn-id", "elasticsearch_admin", check=True)
    monkeypatch.setenv("TASK_HEALTH_MANAGE_TEMPLATES", "false")
    _, replayed, _ = delivery_command("replay", check=True)
    assert spool_entry(replayed, prefix)["replayed"] == EXPECTED_EVENTS
    assert len(indexed_ids(secured.es, prefix)) == EXPECTED_EVENTS
    code, report, _ = delivery_command("status")
    assert code == 0 and not spool_entry(report, prefix)["problems"], report


@dataclass
class Broken:
    connection: str  # AIRFLOW_CONN_… JSON the cluster refuses
    fix: Callable[[], str]  # repairs what is wrong; the connection to use from then on
    hidden: list[str]  # the secrets it holds (never to show up anywhere)


@dataclass
class Breakage:
    """One way a secured cluster refuses the writer."""

    name: str
    says: str  # what the task log must say
    make: Callable[[Any, SecuredNode, str], Broken]  # (admin client, node, prefix)


def wrong_password(admin, node: SecuredNode, prefix: str) -> Broken:
    password = f"wrong-{secrets.token_hex(12)}"
    return Broken(node.connection_json("writer", password=password), lambda: node.connection_json("writer"), [password])


def revoked_api_key(admin, node: SecuredNode, prefix: str) -> Broken:
    granted = admin.security.grant_api_key(
        grant_type="password",
        username=WRITER,
        password=node.fields("writer")["password"],
        api_key={"name": f"{prefix}-revoked"},
    )
    admin.security.invalidate_api_key(ids=[granted["id"]])
    return Broken(
        node.connection_json("writer-api-key", extra={"api_key": granted["encoded"]}),
        lambda: node.connection_json("writer-api-key"),  # the script's key, still valid
        [granted["encoded"], granted["api_key"]],
    )


def wrong_ca(admin, node: SecuredNode, prefix: str) -> Broken:
    import certifi  # the public CAs: none of them signed the node's certificate

    broken = node.connection_json("writer", extra={"ca_certs": certifi.where()})
    return Broken(broken, lambda: node.connection_json("writer"), [])


def missing_privilege(admin, node: SecuredNode, prefix: str) -> Broken:
    """A user whose role covers another index; the fix grants the role this one (same connection)."""
    role, user, password = f"{prefix}-role", f"{prefix}-user", f"pw-{secrets.token_hex(12)}"
    admin.security.put_role(name=role, indices=[{"names": ["elsewhere-*"], "privileges": ["create_doc"]}])
    admin.security.put_user(username=user, password=password, roles=[role])
    connection = node.connection_json("writer", login=user, password=password)

    def grant() -> str:
        privileges = ["create_doc", "read", "auto_configure"]
        admin.security.put_role(name=role, indices=[{"names": [f"{prefix}-*"], "privileges": privileges}])
        return connection

    return Broken(connection, grant, [password])


BREAKAGES = [
    Breakage("wrong_password", "refused the credentials of connection 'elasticsearch_default' (401", wrong_password),
    Breakage("revoked_api_key", "refused the credentials of connection 'elasticsearch_default' (401", revoked_api_key),
    Breakage(
        "wrong_ca",
        "TLS certificate could not be verified (CERTIFICATE_VERIFY_FAILED: unable to get local issuer",
        wrong_ca,
    ),
    Breakage(
        "missing_privilege",
        "connection 'elasticsearch_default' lacks a privilege (403 security_exception",
        missing_privilege,
    ),
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
def test_a_refused_writer_keeps_every_event_says_what_to_fix_and_a_replay_delivers_them(
    breakage: Breakage, secured, secured_node: SecuredNode, monkeypatch, tmp_path, caplog
) -> None:
    prefix = use_prefix(monkeypatch, secured.prefix, breakage.name, tmp_path)
    broken = breakage.make(secured.es, secured_node, prefix)
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", broken.connection)

    with caplog.at_level(logging.INFO):
        assert run_lifecycle() == EXPECTED_STATES, "a refusing cluster must not change any task's outcome"
    spooled = spooled_actions(tmp_path)
    assert len(spooled) == EXPECTED_EVENTS == len({a["_id"] for a in spooled})
    assert not (tmp_path / "deadletter.jsonl").exists(), "the documents are fine: nothing is dead-lettered"
    assert indexed_ids(secured.es, prefix) == []

    ours = [r.getMessage() for r in caplog.records if r.name.startswith("include.") and r.levelno >= logging.ERROR]
    assert any(breakage.says in line for line in ours), ours
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in [*broken.hidden, *secured_node.secrets()]:
        assert secret not in logged, f"{breakage.name}: a secret reached the log"
        assert secret not in json.dumps(spooled), f"{breakage.name}: a secret reached the spool"

    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", broken.fix())
    _, report, _ = delivery_command("replay", check=True)
    entry = spool_entry(report, prefix)
    assert entry["replayed"] == EXPECTED_EVENTS and entry["still_spooled"] == 0 and entry["dead_lettered"] == 0
    assert sorted(indexed_ids(secured.es, prefix)) == sorted(a["_id"] for a in spooled)

    _, again, _ = delivery_command("replay", check=True)
    assert spool_entry(again, prefix)["replayed"] == 0
    assert len(indexed_ids(secured.es, prefix)) == EXPECTED_EVENTS
