"""Import saved objects through Kibana's saved-objects import API, with overwrite.

Where Kibana is and how to authenticate: `KIBANA_URL` (+ `KIBANA_USERNAME`/`KIBANA_PASSWORD` or
`KIBANA_API_KEY`, optional `KIBANA_SPACE`) when set, else the Airflow connection
`KIBANA_CONN_ID` (default `kibana_default`: host, port, schema, login, password; extra
`api_key`, `space`). The API answers 200 even when objects fail, so the result lists each
failed object with its reason; credentials never appear in a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from requests import Response

IMPORT_PATH = "/api/saved_objects/_import"


class KibanaImportError(RuntimeError):
    """Kibana refused the request as a whole (unreachable, auth, bad request)."""


@dataclass(frozen=True)
class KibanaTarget:
    url: str
    space: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        headers = {"kbn-xsrf": "true"}
        if self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        return headers

    def display_url(self) -> str:
        """The URL without any user:password part, for messages."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def import_url(self) -> str:
        space = f"/s/{self.space}" if self.space and self.space != "default" else ""
        return f"{self.url.rstrip('/')}{space}{IMPORT_PATH}?overwrite=true"


@dataclass(frozen=True)
class ImportResult:
    success_count: int
    errors: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors


def target_from_env() -> KibanaTarget | None:
    url = os.environ.get("KIBANA_URL")
    if not url:
        return None
    return KibanaTarget(
        url=url,
        space=os.environ.get("KIBANA_SPACE"),
        username=os.environ.get("KIBANA_USERNAME"),
        password=os.environ.get("KIBANA_PASSWORD"),
        api_key=os.environ.get("KIBANA_API_KEY"),
    )


def target_from_connection(conn_id: str) -> KibanaTarget:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson or {}
    scheme = conn.schema or extra.get("scheme") or "http"
    port = f":{conn.port}" if conn.port else ""
    return KibanaTarget(
        url=f"{scheme}://{conn.host}{port}",
        space=extra.get("space"),
        username=conn.login or None,
        password=conn.password or None,
        api_key=extra.get("api_key"),
    )


def kibana_target() -> KibanaTarget:
    found = target_from_env()
    if found is not None:
        return found
    conn_id = os.environ.get("KIBANA_CONN_ID", "kibana_default")
    try:
        return target_from_connection(conn_id)
    except Exception as err:  # AirflowNotFoundException, or a broken connection
        raise KibanaImportError(
            f"no KIBANA_URL and no usable Airflow connection {conn_id!r} ({type(err).__name__}); "
            "set KIBANA_URL (+ KIBANA_USERNAME/KIBANA_PASSWORD or KIBANA_API_KEY) or add the connection"
        ) from None


def describe_errors(body: dict[str, Any]) -> list[str]:
    """One readable line per object Kibana did not import."""
    lines = []
    for error in body.get("errors", []):
        title = (error.get("meta") or {}).get("title") or error.get("title") or ""
        detail = error.get("error") or {}
        reason = detail.get("type", "unknown")
        if reason == "missing_references":
            missing = ", ".join(f"{r.get('type')}/{r.get('id')}" for r in detail.get("references", []))
            reason = f"missing_references ({missing})"
        elif detail.get("message"):
            reason = f"{reason}: {detail['message']}"
        lines.append(f"{error.get('type')}/{error.get('id')} {title!r}: {reason}")
    if not lines and not body.get("success", False):
        lines.append(f"Kibana reported no success and no per-object errors: {body}")
    return lines


def import_saved_objects(target: KibanaTarget, ndjson: str, timeout_s: float = 60.0) -> ImportResult:
    import requests

    with requests.Session() as session:
        # Credentials come from the target only: never from ~/.netrc or proxies' env, which
        # would silently replace an API key with basic auth.
        session.trust_env = False
        auth = (target.username, target.password or "") if target.username and not target.api_key else None
        try:
            response = session.post(
                target.import_url(),
                headers=target.headers(),
                auth=auth,
                files={"file": ("airflow-anomaly-detection.ndjson", ndjson.encode(), "application/ndjson")},
                timeout=timeout_s,
            )
        except requests.RequestException as err:
            raise KibanaImportError(f"cannot reach Kibana at {target.display_url()}: {type(err).__name__}") from None
    body = _json_or_none(response)
    if response.status_code != 200:
        message = body.get("message") if isinstance(body, dict) else None
        raise KibanaImportError(
            f"Kibana at {target.display_url()} answered {response.status_code}: {message or response.text[:300]}"
        )
    if not isinstance(body, dict):
        raise KibanaImportError(f"Kibana at {target.display_url()} answered 200 without a JSON object (a proxy?)")
    return ImportResult(success_count=int(body.get("successCount", 0)), errors=describe_errors(body))


def _json_or_none(response: Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None
