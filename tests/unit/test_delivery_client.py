"""How connection fields become client options: precedence, auth, TLS, clear errors."""

from __future__ import annotations

import pytest

from include.delivery.client import ConnectionFields, ElasticsearchConfigError, client_options


def fields(**overrides) -> ConnectionFields:
    base = {"host": "localhost", "port": 9200, "schema": "http", "login": None, "password": None, "extra": {}}
    base.update(overrides)
    return ConnectionFields(**base)


def test_plain_local_node() -> None:
    options = client_options(fields())
    assert options["hosts"] == ["http://localhost:9200"]
    assert "basic_auth" not in options and "api_key" not in options
    assert options["request_timeout"] == 5.0 and options["max_retries"] == 2


def test_https_with_basic_auth_and_ca() -> None:
    options = client_options(
        fields(host="es.example.org", port=443, schema="https", login="u", password="p", extra={"ca_certs": "/ca.pem"})
    )
    assert options["hosts"] == ["https://es.example.org:443"]
    assert options["basic_auth"] == ("u", "p")
    assert options["ca_certs"] == "/ca.pem"


def test_host_given_as_url_is_not_doubled() -> None:
    assert client_options(fields(host="http://es:9201/", port=9201))["hosts"] == ["http://es:9201"]


def test_api_key_wins_over_basic_auth() -> None:
    options = client_options(fields(login="u", password="p", extra={"api_key": "k"}))
    assert options["api_key"] == "k"
    assert "basic_auth" not in options


def test_cloud_id_wins_over_host() -> None:
    options = client_options(fields(extra={"cloud_id": "deploy:abc", "hosts": ["http://x:1"]}))
    assert options["cloud_id"] == "deploy:abc"
    assert "hosts" not in options


def test_extra_hosts_list_or_comma_string() -> None:
    assert client_options(fields(extra={"hosts": ["http://a:9200", "http://b:9200"]}))["hosts"] == [
        "http://a:9200",
        "http://b:9200",
    ]
    assert client_options(fields(extra={"hosts": "http://a:9200, http://b:9200"}))["hosts"] == [
        "http://a:9200",
        "http://b:9200",
    ]


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("false", False), ("True", True), ("0", False), (False, False)]
)
def test_verify_certs_accepts_bools_and_strings(value, expected) -> None:
    assert client_options(fields(extra={"verify_certs": value}))["verify_certs"] is expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"host": None}, "no host"),
        ({"schema": "ftp"}, "schema must be http or https"),
        ({"extra": {"hosts": ["es:9200"]}}, "extra.hosts must be a list of URLs"),
        ({"extra": {"verify_certs": "maybe"}}, "extra.verify_certs must be true or false"),
    ],
)
def test_configuration_errors_say_what_is_wrong(overrides, message) -> None:
    with pytest.raises(ElasticsearchConfigError, match=message):
        client_options(fields(**overrides))
