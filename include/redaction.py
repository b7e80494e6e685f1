"""Secrets masked out of everything the project ships or logs (documents, spool and dead-letter
lines, warnings), whether or not Airflow ever saw them as a connection.

Three sources, applied in this order by `redact`:
- what Airflow's masker holds: the connections and variables this process read;
- credentials in the environment, registered with that masker on the way (so the task log
  masks them too): every variable named like a secret (`*_PASSWORD`, `*_TOKEN`, `*_API_KEY`,
  `*_SECRET`, …: `KIBANA_PASSWORD`, `KIBANA_API_KEY`, `MLFLOW_TRACKING_TOKEN`, …) and the
  password of every URL-valued variable (`MLFLOW_TRACKING_URI=https://user:token@host`);
- a pattern for URL credentials anywhere in the text (`scheme://user:secret@` keeps `user`,
  `scheme://token@` keeps nothing), for a URL quoted in an exception that no variable holds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from include.airflow_compat import Redactable, mask_registered_secrets

MASK = "***"  # what Airflow's masker writes
SECRET_NAME_SUFFIXES = ("PASSWORD", "PASSWD", "TOKEN", "API_KEY", "APIKEY", "SECRET", "SECRET_KEY", "PASSPHRASE")
URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#@\"'<>]+)@")

_registered: set[str] = set()


def environment_secrets(environ: Mapping[str, str]) -> set[str]:
    """The secret values in `environ`: those of variables named like a secret, and URL passwords."""
    found = set()
    for name, value in environ.items():
        if name.endswith(SECRET_NAME_SUFFIXES):
            found.add(value)
        if "@" in value:
            found.update(m["userinfo"].partition(":")[2] or m["userinfo"] for m in URL_CREDENTIALS.finditer(value))
    return found - {""}


def register_environment_secrets(environ: Mapping[str, str] | None = None) -> None:
    """Hand the environment's secrets to Airflow's masker (once each), so the task log and
    every later `redact` mask them."""
    new = environment_secrets(os.environ if environ is None else environ) - _registered
    if not new:
        return
    from airflow.sdk.log import mask_secret

    for value in new:
        mask_secret(value)
    _registered.update(new)


def _hide_userinfo(match: re.Match[str]) -> str:
    user, colon, _ = match["userinfo"].partition(":")
    return f"{match['scheme']}{user}:{MASK}@" if colon else f"{match['scheme']}{MASK}@"


def mask_url_credentials(value: Any) -> Any:
    """`value` (text, or a JSON structure of it) with the credentials of every URL masked."""
    if isinstance(value, str):
        return URL_CREDENTIALS.sub(_hide_userinfo, value) if "@" in value else value
    if isinstance(value, dict):
        return {key: mask_url_credentials(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_url_credentials(item) for item in value]
    return value


def redact(value: Redactable) -> Redactable:
    """`value` (a message or a JSON object) with every secret this process can know of masked."""
    register_environment_secrets()
    masked: Redactable = mask_url_credentials(mask_registered_secrets(value))
    return masked
