"""An Elasticsearch client built from an Airflow connection (default `elasticsearch_default`).

Follows the provider hook's idiom (named connection attribute, lazily built client, clear
configuration errors) but returns the official client with short timeouts and bounded
retries, because shipping a document must never hold a task up for long.

Configuration precedence, highest first:
1. `extra.cloud_id` (Elastic Cloud) — host and port are then ignored;
2. `extra.hosts` (a list of URLs, for multi-node clusters);
3. `host` / `port` / `schema` (http or https; default http, port 9200).
Authentication: `extra.api_key` if set, else `login` / `password` as basic auth.
TLS: `extra.verify_certs` (default true) and `extra.ca_certs` (a file path).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, TypedDict
from urllib.parse import urlsplit

from airflow.sdk import BaseHook

from include.delivery.settings import parse_bool

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

DEFAULT_REQUEST_TIMEOUT_S = 5.0
DEFAULT_MAX_RETRIES = 2


class ElasticsearchConfigError(ValueError):
    """The connection cannot describe a usable cluster (the message says which field)."""


@dataclass(frozen=True)
class ConnectionFields:
    """The parts of an Airflow connection the client needs, as plain values."""

    host: str | None
    port: int | None
    schema: str | None
    login: str | None
    password: str | None
    extra: dict[str, Any]


class ConnectionLike(Protocol):
    """What `connection_fields` reads of an Airflow `Connection` (SDK or core)."""

    @property
    def conn_id(self) -> str: ...
    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int | None: ...
    @property
    def schema(self) -> str | None: ...
    @property
    def login(self) -> str | None: ...
    @property
    def password(self) -> str | None: ...
    @property
    def extra_dejson(self) -> dict[str, Any]: ...


class ClientOptions(TypedDict, total=False):
    """The keyword arguments of `elasticsearch.Elasticsearch` this module sets."""

    cloud_id: str
    hosts: list[str]
    request_timeout: float
    max_retries: int
    retry_on_timeout: bool
    api_key: str | tuple[str, str]
    basic_auth: tuple[str, str]
    verify_certs: bool
    ca_certs: str


def _as_bool(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    try:
        return parse_bool(value if isinstance(value, str) else repr(value), f"extra.{name}")
    except ValueError as err:
        raise ElasticsearchConfigError(str(err)) from None


def _endpoint(fields: ConnectionFields) -> ClientOptions:
    """`cloud_id` or `hosts`, following the precedence in the module docstring."""
    extra = fields.extra
    if extra.get("cloud_id"):
        return {"cloud_id": extra["cloud_id"]}
    if extra.get("hosts"):
        hosts = extra["hosts"]
        if isinstance(hosts, str):
            hosts = [h.strip() for h in hosts.split(",") if h.strip()]
        if not isinstance(hosts, list) or not all(isinstance(h, str) and "://" in h for h in hosts):
            raise ElasticsearchConfigError("extra.hosts must be a list of URLs like https://es1:9200")
        return {"hosts": hosts}
    if not fields.host:
        raise ElasticsearchConfigError("the connection has no host (and no extra.cloud_id or extra.hosts)")
    # A host typed as a URL (`https://es:9243`) carries its own scheme and port.
    url = urlsplit(fields.host if "://" in fields.host else f"//{fields.host}")
    scheme = (url.scheme or fields.schema or "http").lower()
    if scheme not in {"http", "https"}:
        raise ElasticsearchConfigError(f"schema must be http or https, got {scheme!r}")
    return {"hosts": [f"{scheme}://{url.hostname}:{url.port or fields.port or 9200}"]}


def client_options(
    fields: ConnectionFields,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> ClientOptions:
    """Keyword arguments for `elasticsearch.Elasticsearch`, following the precedence above."""
    extra = fields.extra
    options: ClientOptions = {
        "request_timeout": request_timeout,
        "max_retries": max_retries,
        "retry_on_timeout": True,
        **_endpoint(fields),
    }
    if extra.get("api_key"):
        options["api_key"] = extra["api_key"]
    elif fields.login:
        options["basic_auth"] = (fields.login, fields.password or "")
    if "verify_certs" in extra:
        options["verify_certs"] = _as_bool(extra["verify_certs"], "verify_certs")
    if extra.get("ca_certs"):
        options["ca_certs"] = extra["ca_certs"]
    return options


def connection_fields(conn: ConnectionLike) -> ConnectionFields:
    """Read the fields of an Airflow `Connection` (SDK or core) into plain values."""
    try:
        extra = conn.extra_dejson
    except Exception as err:  # an unparsable extra is a configuration error, not a crash
        raise ElasticsearchConfigError(f"connection {conn.conn_id!r}: extra is not valid JSON") from err
    return ConnectionFields(conn.host, conn.port, conn.schema, conn.login, conn.password, dict(extra or {}))


class ElasticsearchClientHook(BaseHook):
    """Holds one lazily built client per hook; creating the hook does no I/O."""

    conn_name_attr = "elasticsearch_conn_id"
    default_conn_name = "elasticsearch_default"
    conn_type = "elasticsearch"
    hook_name = "Elasticsearch (official client)"

    def __init__(
        self,
        elasticsearch_conn_id: str = default_conn_name,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        super().__init__()
        self.elasticsearch_conn_id = elasticsearch_conn_id
        self.request_timeout = request_timeout
        self.max_retries = max_retries

    @cached_property
    def client(self) -> Elasticsearch:
        from elasticsearch import Elasticsearch

        fields = connection_fields(self.get_connection(self.elasticsearch_conn_id))
        return Elasticsearch(**client_options(fields, self.request_timeout, self.max_retries))

    def get_conn(self) -> Elasticsearch:
        return self.client
