"""Composable index templates shipped as JSON with the project (`include/elasticsearch/`).

Each producer names its own (`task_health.templates`, `anomaly.index`); this module loads them
and installs them idempotently, before a shipper's first write in a process and by
`python -m include.stack.delivery install-templates`: a template is (re)written only when the
cluster's copy is missing or differs in `version` or index patterns (one GET per process).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "elasticsearch"


@dataclass(frozen=True)
class IndexTemplate:
    name: str
    body: dict[str, Any]


@cache
def _template_file(file_name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((TEMPLATE_DIR / file_name).read_text())
    return body


def project_template(file_name: str, name: str, index_patterns: list[str]) -> IndexTemplate:
    """The template in `include/elasticsearch/<file_name>` under `name`, for `index_patterns`
    (a deployment's own prefix gets a template of its own)."""
    body = copy.deepcopy(_template_file(file_name))
    body["index_patterns"] = index_patterns
    return IndexTemplate(name, body)


def ensure_template(client: Elasticsearch, template: IndexTemplate) -> bool:
    """Install `template` unless the cluster has this version already; True when written."""
    from elasticsearch import NotFoundError

    try:
        found = client.indices.get_index_template(name=template.name)["index_templates"]
        current = found[0]["index_template"] if found else None
    except NotFoundError:
        current = None

    def identity(body: dict[str, Any]) -> tuple[object, object]:
        return body.get("version"), body.get("index_patterns")

    if current and identity(current) == identity(template.body):
        return False
    client.indices.put_index_template(name=template.name, **template.body)
    return True
