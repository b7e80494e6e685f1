"""Apply the `connections`, `pools` and `variables` of an Astro-CLI `airflow_settings.yaml`.

The Astro CLI does this on `astro dev start`; it is not available here, so this loader gives a
plain local Airflow the same state. It upserts (safe to run any number of times) and never
prints a password or extra value.

Usage: python -m scripts.load_airflow_settings [path/to/airflow_settings.yaml]
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

CONNECTION_FIELDS = {
    "conn_type": "conn_type",
    "conn_host": "host",
    "conn_schema": "schema",
    "conn_login": "login",
    "conn_password": "password",
    "conn_port": "port",
}


class SettingsError(ValueError):
    """The settings file cannot be applied as written."""


@dataclass(frozen=True)
class AirflowSettings:
    """What an `airflow_settings.yaml` asks for, as Airflow model keyword arguments."""

    connections: list[dict[str, Any]] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)
    variables: list[dict[str, str]] = field(default_factory=list)


def _entries(section: Any, name: str) -> list[dict[str, Any]]:
    if section is None:
        return []
    if not isinstance(section, list) or not all(isinstance(e, dict) for e in section):
        raise SettingsError(f"airflow.{name} must be a list of mappings")
    return section


def _connection(entry: dict[str, Any]) -> dict[str, Any]:
    conn_id = entry["conn_id"]
    if entry.get("conn_uri"):
        return {"conn_id": conn_id, "uri": entry["conn_uri"]}
    if not entry.get("conn_type"):
        raise SettingsError(f"connection {conn_id!r} has no conn_type")
    kwargs: dict[str, Any] = {"conn_id": conn_id}
    for key, attr in CONNECTION_FIELDS.items():
        if entry.get(key) not in (None, ""):
            kwargs[attr] = entry[key]
    if "port" in kwargs:
        try:
            kwargs["port"] = int(kwargs["port"])
        except (TypeError, ValueError):
            raise SettingsError(f"connection {conn_id!r}: conn_port must be a number") from None
    extra = entry.get("conn_extra")
    if extra not in (None, "", {}):
        kwargs["extra"] = extra if isinstance(extra, str) else json.dumps(extra)
    return kwargs


def parse_settings(text: str) -> AirflowSettings:
    """Turn the YAML text into model arguments, skipping the template's empty entries."""
    document = yaml.safe_load(text) or {}
    airflow = document.get("airflow") or {}
    if not isinstance(airflow, dict):
        raise SettingsError("the top-level key `airflow` must be a mapping")
    connections = [_connection(e) for e in _entries(airflow.get("connections"), "connections") if e.get("conn_id")]
    pools = []
    for entry in _entries(airflow.get("pools"), "pools"):
        if not entry.get("pool_name"):
            continue
        slots = entry.get("pool_slot")
        if not isinstance(slots, int) or slots < 0:
            raise SettingsError(f"pool {entry['pool_name']!r}: pool_slot must be a whole number >= 0")
        pools.append({"name": entry["pool_name"], "slots": slots, "description": entry.get("pool_description") or ""})
    variables = [
        {"key": e["variable_name"], "value": "" if e.get("variable_value") is None else str(e["variable_value"])}
        for e in _entries(airflow.get("variables"), "variables")
        if e.get("variable_name")
    ]
    return AirflowSettings(connections, pools, variables)


def apply_settings(settings: AirflowSettings) -> None:
    """Upsert everything into the metadata database of the current AIRFLOW_HOME."""
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        for kwargs in settings.connections:
            wanted = Connection(**kwargs)
            existing = session.query(Connection).filter(Connection.conn_id == wanted.conn_id).one_or_none()
            if existing is None:
                session.add(wanted)
            else:
                for attr in ("conn_type", "host", "schema", "login", "password", "port", "extra"):
                    setattr(existing, attr, getattr(wanted, attr))
            log.info("connection %s: %s://%s:%s", wanted.conn_id, wanted.conn_type, wanted.host, wanted.port)
    for pool in settings.pools:
        Pool.create_or_update_pool(
            name=pool["name"], slots=pool["slots"], description=pool["description"], include_deferred=False
        )
        log.info("pool %s: %s slot(s)", pool["name"], pool["slots"])
    for variable in settings.variables:
        Variable.set(variable["key"], variable["value"])
        log.info("variable %s set", variable["key"])


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "airflow_settings.yaml"
    try:
        apply_settings(parse_settings(path.read_text()))
    except (OSError, SettingsError, yaml.YAMLError) as err:
        log.error("cannot apply %s: %s", path, err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
