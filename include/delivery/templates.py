"""Composable index templates shipped as JSON with the project (`include/elasticsearch/`).

Each producer names its own (`task_health.templates`, `anomaly.index`); this module loads them
and installs them idempotently, before a shipper's first write in a process and by
`python -m include.stack.delivery install-templates`: a template is (re)written only when the
cluster's copy is missing or differs in `version`, index patterns or priority (one GET per process).

Priorities: Elasticsearch refuses a template whose patterns overlap another's at the same
priority, so the installed priority is the file's (its kind's base, 200-209) plus ten per
literal character before the pattern's first `*`. A more specific pattern wins where two
match (`th-prod-*` over `th-*`: a second deployment can extend a first one's prefix), and two
overlapping patterns never share a priority — same literal length and kind means the same
pattern, i.e. the same template.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import ApiError, Elasticsearch

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "elasticsearch"


class TemplateError(RuntimeError):
    """The cluster refused an index template: a configuration problem, not an outage."""


@dataclass(frozen=True)
class IndexTemplate:
    name: str
    body: dict[str, Any]


@cache
def _template_file(file_name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((TEMPLATE_DIR / file_name).read_text())
    return body


PRIORITY_PER_LITERAL_CHARACTER = 10


def priority_for(base: int, index_patterns: list[str]) -> int:
    """`base` plus ten per literal character of the most specific pattern (see above)."""
    literal = max(len(pattern.split("*", 1)[0]) for pattern in index_patterns)
    return base + PRIORITY_PER_LITERAL_CHARACTER * literal


def project_template(file_name: str, name: str, index_patterns: list[str]) -> IndexTemplate:
    """The template in `include/elasticsearch/<file_name>` under `name`, for `index_patterns`
    (a deployment's own prefix gets a template of its own)."""
    body = copy.deepcopy(_template_file(file_name))
    body["index_patterns"] = index_patterns
    body["priority"] = priority_for(body["priority"], index_patterns)
    return IndexTemplate(name, body)


IDENTITY = ("version", "index_patterns", "priority")  # what tells an installed template is this one


def _identity(body: dict[str, Any]) -> tuple[object, ...]:
    return tuple(body.get(name) for name in IDENTITY)


def ensure_template(client: Elasticsearch, template: IndexTemplate) -> bool:
    """Install `template` unless the cluster has this version already; True when written.
    Raises `TemplateError` when the cluster refuses it (e.g. its patterns overlap another
    template's at the same priority, or the connection's user may not manage templates)."""
    from elasticsearch import AuthorizationException, BadRequestError, NotFoundError

    try:
        # Only what `_identity` compares: the whole template (mappings included) costs every fresh
        # task process ~10 ms of CPU to parse, measured under Celery.
        fields = [f"index_templates.index_template.{name}" for name in IDENTITY]
        found = client.indices.get_index_template(name=template.name, filter_path=fields)["index_templates"]
        current = found[0]["index_template"] if found else None
    except NotFoundError:
        current = None
    except AuthorizationException as err:
        raise _not_allowed(template, err) from err

    if current and _identity(current) == _identity(template.body):
        return False
    try:
        client.indices.put_index_template(name=template.name, **template.body)
    except AuthorizationException as err:
        raise _not_allowed(template, err) from err
    except BadRequestError as err:
        raise TemplateError(
            f"the cluster refused index template {template.name!r} (patterns {template.body['index_patterns']}, "
            f"priority {template.body['priority']}): {err.message}: {err.body.get('error', {}).get('reason', '')}"
        ) from err
    return True


def _not_allowed(template: IndexTemplate, err: ApiError) -> TemplateError:
    from include.delivery.refusals import refusal_of

    refusal = refusal_of(err)
    reason = refusal.reason if refusal else err.message
    return TemplateError(
        f"the connection's user may not manage index template {template.name!r} (403: {reason}). A least-privilege "
        "writer leaves templates to the admin: install them with `python -m include.stack.delivery install-templates "
        "--conn-id <admin connection>`, and set TASK_HEALTH_MANAGE_TEMPLATES=false where the writer runs"
    )
