"""The composable index template for task-health indices, shipped as JSON with the project.

The file `include/elasticsearch/task_health_template.json` holds the mapping; the template's
name and index pattern follow the configured index prefix (`<prefix>` and `<prefix>-*`), so a
test or a second deployment with its own prefix gets its own template. Installed idempotently
before a process's first write and by `python -m include.task_health install-templates`: it
is (re)written only when the cluster's copy is missing or has another `version`, which costs
one GET per process.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

TEMPLATE_FILE = Path(__file__).resolve().parents[1] / "elasticsearch" / "task_health_template.json"


@cache
def _template_file() -> dict[str, Any]:
    return json.loads(TEMPLATE_FILE.read_text())


def task_health_template(index_prefix: str) -> dict[str, Any]:
    """The template body for indices `<index_prefix>-*`."""
    body = copy.deepcopy(_template_file())
    body["index_patterns"] = [f"{index_prefix}-*"]
    return body


def ensure_templates(client: Elasticsearch, index_prefix: str) -> list[str]:
    """Install the template unless the cluster has this version already; returns names written."""
    from elasticsearch import NotFoundError

    wanted = task_health_template(index_prefix)
    try:
        found = client.indices.get_index_template(name=index_prefix)["index_templates"]
        current = found[0]["index_template"] if found else None
    except NotFoundError:
        current = None

    def identity(template: dict[str, Any]) -> tuple:
        return template.get("version"), template.get("index_patterns")

    if current and identity(current) == identity(wanted):
        return []
    client.indices.put_index_template(name=index_prefix, **wanted)
    return [index_prefix]
