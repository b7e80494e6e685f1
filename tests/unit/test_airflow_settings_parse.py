"""Parsing of airflow_settings.yaml (Astro CLI format) into Airflow model arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.load_airflow_settings import SettingsError, parse_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]

ASTRO_TEMPLATE = """
airflow:
  connections:
    - conn_id:
      conn_type:
      conn_host:
      conn_schema:
      conn_login:
      conn_password:
      conn_port:
      conn_extra:
        example_extra_field: example-value
  pools:
    - pool_name:
      pool_slot:
      pool_description:
  variables:
    - variable_name:
      variable_value:
"""


def test_the_astro_template_with_empty_entries_applies_nothing() -> None:
    settings = parse_settings(ASTRO_TEMPLATE)
    assert settings.connections == [] and settings.pools == [] and settings.variables == []


def test_project_file_defines_the_local_elasticsearch_without_secrets() -> None:
    settings = parse_settings((PROJECT_ROOT / "airflow_settings.yaml").read_text())
    by_id = {c["conn_id"]: c for c in settings.connections}
    es = by_id["elasticsearch_default"]
    assert (es["conn_type"], es["host"], es["port"], es["schema"]) == ("elasticsearch", "localhost", 9200, "http")
    assert "password" not in es and "login" not in es
    assert json.loads(es["extra"]) == {"verify_certs": True}
    assert {p["name"] for p in settings.pools} == {"model_registry"}


def test_full_entries_become_model_arguments() -> None:
    settings = parse_settings(
        """
airflow:
  connections:
    - conn_id: a
      conn_type: http
      conn_host: h
      conn_port: "8080"
      conn_extra: '{"k": 1}'
    - conn_id: b
      conn_uri: postgresql://u@db:5432/x
  pools:
    - {pool_name: p, pool_slot: 3, pool_description: d}
  variables:
    - {variable_name: v, variable_value: 7}
"""
    )
    assert settings.connections == [
        {"conn_id": "a", "conn_type": "http", "host": "h", "port": 8080, "extra": '{"k": 1}'},
        {"conn_id": "b", "uri": "postgresql://u@db:5432/x"},
    ]
    assert settings.pools == [{"name": "p", "slots": 3, "description": "d"}]
    assert settings.variables == [{"key": "v", "value": "7"}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("airflow: [1]", "must be a mapping"),
        ("airflow:\n  connections: {a: 1}", "must be a list of mappings"),
        ("airflow:\n  connections:\n    - conn_id: x", "has no conn_type"),
        ("airflow:\n  connections:\n    - {conn_id: x, conn_type: http, conn_port: abc}", "conn_port must be a number"),
        ("airflow:\n  pools:\n    - {pool_name: p, pool_slot: -1}", "pool_slot must be a whole number"),
    ],
)
def test_invalid_files_fail_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(text)
