"""Composable index templates shipped as JSON with the project (`include/elasticsearch/`).

- task health: `task_health_template.json`; the template's name and index pattern follow the
  configured index prefix (`<prefix>` and `<prefix>-*`), so a test or a second deployment with
  its own prefix gets its own template;
- detection output: `anomalies_template.json`, for the `anomalies` index;
- Airflow's own task logs: `airflow_logs_template.json`, for `<AIRFLOW_TASK_LOGS_INDEX>*`. The
  provider writes whatever a log line holds; with dynamic mapping, a field that is a number in
  one line and a string in another gets the later line rejected, silently. `dynamic: false`
  keeps every line (unknown fields stay in `_source`) and maps the fields Airflow reads back.
Installed idempotently before a shipper's first write in a process and by
`python -m include.task_health install-templates`: a template is (re)written only when the
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
    return json.loads((TEMPLATE_DIR / file_name).read_text())


def task_health_template(index_prefix: str) -> IndexTemplate:
    """The template for task-health indices `<index_prefix>-*`."""
    body = copy.deepcopy(_template_file("task_health_template.json"))
    body["index_patterns"] = [f"{index_prefix}-*"]
    return IndexTemplate(index_prefix, body)


def anomalies_template(index: str = "anomalies") -> IndexTemplate:
    """The template for the detection output index."""
    body = copy.deepcopy(_template_file("anomalies_template.json"))
    body["index_patterns"] = [index]
    return IndexTemplate(index, body)


def airflow_logs_template(index: str = "airflow-logs") -> IndexTemplate:
    """The template for Airflow's task-log indices `<index>*` (the provider's `target_index`)."""
    body = copy.deepcopy(_template_file("airflow_logs_template.json"))
    body["index_patterns"] = [f"{index}*"]
    return IndexTemplate(index, body)


def ensure_template(client: Elasticsearch, template: IndexTemplate) -> bool:
    """Install `template` unless the cluster has this version already; True when written."""
    from elasticsearch import NotFoundError

    try:
        found = client.indices.get_index_template(name=template.name)["index_templates"]
        current = found[0]["index_template"] if found else None
    except NotFoundError:
        current = None

    def identity(body: dict[str, Any]) -> tuple:
        return body.get("version"), body.get("index_patterns")

    if current and identity(current) == identity(template.body):
        return False
    client.indices.put_index_template(name=template.name, **template.body)
    return True
