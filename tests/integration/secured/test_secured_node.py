"""What `ES_SECURITY=on scripts/elasticsearch.sh start` promises: TLS only, no anonymous access, a
writer that may create documents in the project's indices and nothing else, an API key that is
the writer, secrets only the caller can read, and a key re-granted when the writer's role changes."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest
import requests
from elasticsearch import AuthorizationException, Elasticsearch

from tests.secured import WRITER, SecuredNode, script


def writer_client(node: SecuredNode, identity: str = "writer") -> Elasticsearch:
    fields = node.fields(identity)
    auth = (
        {"api_key": fields["extra"]["api_key"]}
        if "api_key" in fields.get("extra", {})
        else {"basic_auth": (fields["login"], fields["password"])}
    )
    return Elasticsearch(node.url, ca_certs=node.ca_certs, request_timeout=30, **auth)


def test_only_tls_and_only_authenticated_requests_are_answered(secured_node: SecuredNode) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://localhost:{secured_node.port}/", timeout=5)
    anonymous = requests.get(f"{secured_node.url}/", verify=secured_node.ca_certs, timeout=5)
    assert anonymous.status_code == 401


def test_the_writer_may_create_documents_in_project_indices_and_nothing_more(secured_node: SecuredNode) -> None:
    index = f"th-node-{uuid.uuid4().hex[:8]}-2026.12"
    writer = writer_client(secured_node)
    try:
        assert writer.create(index=index, id="1", document={"event": "x"})["result"] == "created"
        refused = {
            "overwrite a document": lambda: writer.index(index=index, id="1", document={"event": "y"}),
            "delete a document": lambda: writer.delete(index=index, id="1"),
            "write an index template": lambda: writer.indices.put_index_template(name="x", index_patterns=["x-*"]),
            "write another index": lambda: writer.create(index="not-the-project", id="1", document={}),
            "delete an index": lambda: writer.indices.delete(index=index),
            "read the cluster's health": lambda: writer.cluster.health(),
        }
        for what, call in refused.items():
            with pytest.raises(AuthorizationException):
                call()
                pytest.fail(f"the writer may {what}")
    finally:
        with secured_node.admin() as admin:
            admin.indices.delete(index=index, ignore_unavailable=True)


def test_the_api_key_is_the_writer(secured_node: SecuredNode) -> None:
    who = writer_client(secured_node, "writer-api-key").security.authenticate()
    assert who["username"] == WRITER and who["authentication_type"] == "api_key"


def test_secrets_are_the_callers_alone_and_the_ca_is_public(secured_node: SecuredNode) -> None:
    secrets_dir = Path(secured_node.ca_certs).parent
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    for name in ("elastic.password", "writer.password", "writer.api_key"):
        assert stat.S_IMODE((secrets_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(Path(secured_node.ca_certs).stat().st_mode) == 0o644


def test_a_changed_role_gets_a_new_api_key_and_the_old_one_stops_working(secured_node: SecuredNode) -> None:
    """A key keeps the privileges its owner had when it was granted: a start with other writer
    indices must not leave the key behind the role."""
    old_key = secured_node.fields("writer-api-key")["extra"]["api_key"]
    changed = script("start", env={"ES_WRITER_TASK_HEALTH_INDICES": "th-*,th-extra-node-test-*"})
    assert changed.returncode == 0, changed.stderr
    try:
        new_key = script("connection", "writer-api-key")
        assert old_key not in new_key.stdout
        with Elasticsearch(secured_node.url, api_key=old_key, ca_certs=secured_node.ca_certs) as old:
            assert old.options(ignore_status=401).security.authenticate().meta.status == 401
    finally:
        restored = script("start")
        assert restored.returncode == 0, restored.stderr
