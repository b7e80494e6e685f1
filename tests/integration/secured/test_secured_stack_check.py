"""The `stack_check` DAG's Elasticsearch check as the secured node's identities: the admin sees
cluster health; the writer, which may not, is checked for the privileges the pipeline needs, and a
user without them fails the check with a message that names what is missing."""

from __future__ import annotations

import secrets

import pytest

from include.stack.checks import check_elasticsearch
from tests.secured import SecuredNode


def test_the_admin_sees_cluster_health(secured, secured_node: SecuredNode, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", secured_node.connection_json("admin"))
    report = check_elasticsearch()
    assert report["status"] in {"green", "yellow"} and report["nodes"] == 1 and report["privileges"] is None


@pytest.mark.parametrize("identity", ["writer", "writer-api-key"])
def test_the_writer_holds_every_privilege_the_pipeline_needs(identity, secured, secured_node: SecuredNode, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", secured_node.connection_json(identity))
    report = check_elasticsearch()
    assert report["status"] == "writer" and report["cluster_name"] is None
    privileges = report["privileges"]
    assert privileges is not None
    assert privileges[f"{secured.prefix}-*"] == {"create_doc": True, "read": True, "auto_configure": True}
    assert privileges[f"{secured.prefix}_anomalies"] == {
        "index": True,
        "delete": True,
        "read": True,
        "auto_configure": True,
    }


def test_a_user_without_them_fails_the_check_naming_what_is_missing(secured, secured_node: SecuredNode, monkeypatch):
    admin = secured.es
    role, user, password = f"{secured.prefix}-reader", f"{secured.prefix}-reader", f"pw-{secrets.token_hex(12)}"
    admin.security.put_role(name=role, indices=[{"names": [f"{secured.prefix}-*"], "privileges": ["read"]}])
    admin.security.put_user(username=user, password=password, roles=[role])
    monkeypatch.setenv(
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT", secured_node.connection_json("writer", login=user, password=password)
    )
    missing = rf"authenticates as '{user}', who lacks .*create_doc on {secured.prefix}-\*"
    with pytest.raises(RuntimeError, match=missing):
        check_elasticsearch()
