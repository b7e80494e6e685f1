"""The secured Elasticsearch node of the test session (`ES_SECURITY=on scripts/elasticsearch.sh`
on SECURED_ES_PORT): TLS with the script's CA, the `elastic` admin and the least-privilege
writer, whose role covers the tests' index prefixes (`th-*`, `th-*_anomalies`).

`make test` starts it; the `secured_node` fixture (tests/conftest.py) starts it when it is not
running, re-applies the writer's role, and stops it at the end only if it started it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from tests.session import PROJECT_ROOT, SECURED_ES_PORT

SCRIPT = PROJECT_ROOT / "scripts" / "elasticsearch.sh"
# What the writer may write in this session: every test prefix (task health) and their rows.
WRITER_INDICES = {"ES_WRITER_TASK_HEALTH_INDICES": "th-*", "ES_WRITER_ANOMALIES_INDICES": "th-*_anomalies"}
IDENTITIES = ("admin", "writer", "writer-api-key")
WRITER = "airflow_anomaly_writer"  # the writer's login (scripts/elasticsearch.sh)


def script(command: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`scripts/elasticsearch.sh COMMAND` on the secured node (`env` on top of the session's)."""
    full_env = {**os.environ, "ES_PORT": str(SECURED_ES_PORT), "ES_SECURITY": "on", **WRITER_INDICES, **(env or {})}
    return subprocess.run([str(SCRIPT), command, *args], capture_output=True, text=True, env=full_env, timeout=300)


@dataclass(frozen=True)
class SecuredNode:
    """The node, and its identities' connections as the script prints them now (read each time:
    a start with other writer indices grants a new API key)."""

    port: int

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def fields(self, identity: str) -> dict[str, Any]:
        """The identity's AIRFLOW_CONN_… fields (with its secret)."""
        result = script("connection", identity)
        assert result.returncode == 0, result.stderr
        fields: dict[str, Any] = json.loads(result.stdout)
        return fields

    @property
    def ca_certs(self) -> str:
        return str(self.fields("admin")["extra"]["ca_certs"])

    def connection_json(self, identity: str, **changes: Any) -> str:
        """The identity's connection as AIRFLOW_CONN_… JSON; `extra=` entries merge into its extras."""
        fields = self.fields(identity)
        extra = {**fields.get("extra", {}), **changes.pop("extra", {})}
        return json.dumps({**fields, **changes, "extra": extra})

    def secrets(self) -> list[str]:
        """Every password and key of the node's identities (what must never show anywhere)."""
        found = []
        for identity in IDENTITIES:
            fields = self.fields(identity)
            found += [fields.get("password"), fields.get("extra", {}).get("api_key")]
        return [s for s in found if s]

    def admin(self, request_timeout: float = 30):
        from elasticsearch import Elasticsearch

        admin = self.fields("admin")
        return Elasticsearch(
            self.url,
            basic_auth=(admin["login"], admin["password"]),
            ca_certs=self.ca_certs,
            request_timeout=request_timeout,
        )
