"""Kibana saved-objects import (include/kibana/importer.py and `python -m include.kibana import`)
against a real local HTTP server standing in for Kibana's `_import` API, since Kibana cannot run
here. The fake records every request and answers with a configurable status and JSON body."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from include.kibana import importer
from include.kibana.__main__ import main
from include.kibana.importer import KibanaImportError, KibanaTarget, import_saved_objects, target_from_env

PASSWORD = "s3cret"
NDJSON = '{"type": "index-pattern", "id": "a"}\n{"type": "dashboard", "id": "b"}\n'
PARTIAL_FAILURE = {
    "success": False,
    "successCount": 1,
    "errors": [
        {
            "type": "dashboard",
            "id": "d1",
            "meta": {"title": "T"},
            "error": {"type": "missing_references", "references": [{"type": "index-pattern", "id": "x"}]},
        },
        {"type": "lens", "id": "l1", "title": "L", "error": {"type": "unknown", "message": "boom"}},
    ],
}


@dataclass
class Request:
    path: str  # path + query
    headers: Any  # http.client.HTTPMessage: case-insensitive
    body: bytes

    def upload(self) -> tuple[str, str, str]:
        """(form field name, filename, content) of the single multipart part."""
        raw = b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + self.body
        (part,) = email.message_from_bytes(raw, policy=email.policy.default).iter_parts()
        name = part.get_param("name", header="content-disposition")
        return name, part.get_filename(), part.get_payload(decode=True).decode()


class FakeKibana:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.status, self.answer = 200, {"success": True, "successCount": 2}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append(Request(self.path, self.headers, body))
                payload = json.dumps(fake.answer).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def reply(self, status: int, answer: dict) -> None:
        self.status, self.answer = status, answer

    @property
    def last(self) -> Request:
        assert len(self.requests) == 1, f"expected one request, got {len(self.requests)}"
        return self.requests[0]


@pytest.fixture
def kibana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKibana]:
    for name in ("no_proxy", "NO_PROXY"):  # a developer's HTTP(S)_PROXY must not intercept 127.0.0.1
        monkeypatch.setenv(name, "127.0.0.1")
    fake = FakeKibana()
    thread = threading.Thread(target=fake.server.serve_forever, args=(0.01,), daemon=True)  # quick shutdown
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join()


def test_import_posts_the_ndjson_with_overwrite_xsrf_and_basic_auth(kibana: FakeKibana) -> None:
    result = import_saved_objects(KibanaTarget(url=kibana.url, username="elastic", password=PASSWORD), NDJSON)

    assert result.ok and result.success_count == 2
    request = kibana.last
    assert request.path == "/api/saved_objects/_import?overwrite=true"
    assert request.headers["kbn-xsrf"] == "true"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"elastic:{PASSWORD}".encode()).decode()
    name, filename, content = request.upload()
    assert name == "file" and filename.endswith(".ndjson")
    assert content == NDJSON


def test_import_into_a_space(kibana: FakeKibana) -> None:
    import_saved_objects(KibanaTarget(kibana.url, space="ops"), NDJSON)

    assert kibana.last.path == "/s/ops/api/saved_objects/_import?overwrite=true"


def test_api_key_replaces_basic_auth(kibana: FakeKibana) -> None:
    import_saved_objects(KibanaTarget(kibana.url, username="elastic", password=PASSWORD, api_key="a2V5"), NDJSON)

    assert kibana.last.headers.get_all("Authorization") == ["ApiKey a2V5"]


def test_per_object_errors_in_a_200_answer_are_readable_lines(kibana: FakeKibana) -> None:
    kibana.reply(200, PARTIAL_FAILURE)

    result = import_saved_objects(KibanaTarget(kibana.url), NDJSON)

    assert not result.ok and result.success_count == 1
    dashboard, lens = result.errors
    assert "dashboard/d1" in dashboard and "missing_references (index-pattern/x)" in dashboard
    assert "lens/l1" in lens and "unknown: boom" in lens


def test_refused_request_raises_with_status_and_message_but_no_password(kibana: FakeKibana) -> None:
    message = "[security_exception] unable to authenticate"
    kibana.reply(401, {"statusCode": 401, "error": "Unauthorized", "message": message})

    with pytest.raises(KibanaImportError) as raised:
        import_saved_objects(KibanaTarget(kibana.url, username="elastic", password=PASSWORD), NDJSON)

    assert "401" in str(raised.value) and message in str(raised.value)
    assert PASSWORD not in str(raised.value)


def test_unreachable_kibana_raises_without_the_password() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(KibanaImportError, match="cannot reach Kibana") as raised:
        import_saved_objects(KibanaTarget(f"http://127.0.0.1:{port}", username="elastic", password=PASSWORD), NDJSON)

    assert PASSWORD not in str(raised.value)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, kibana: FakeKibana) -> FakeKibana:
    """`import` configured by KIBANA_* variables; any Airflow connection lookup fails the test."""
    for name in ("KIBANA_API_KEY", "KIBANA_SPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KIBANA_URL", kibana.url)
    monkeypatch.setenv("KIBANA_USERNAME", "elastic")
    monkeypatch.setenv("KIBANA_PASSWORD", PASSWORD)
    monkeypatch.setenv("TASK_HEALTH_INDEX_PREFIX", "ops-health")
    monkeypatch.setenv("ANOMALIES_INDEX", "ops-anomalies")
    monkeypatch.setenv("AIRFLOW_TASK_LOGS_INDEX", "ops-logs")
    # _import() setdefault()s this in os.environ; set it here so the test session gets it back unset.
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")

    def no_connection_lookup(conn_id: str) -> KibanaTarget:
        raise AssertionError(f"KIBANA_URL is set, yet the Airflow connection {conn_id!r} was looked up")

    monkeypatch.setattr(importer, "target_from_connection", no_connection_lookup)
    return kibana


def test_cli_imports_the_data_views_of_this_deployment(cli_env: FakeKibana, capsys: pytest.CaptureFixture) -> None:
    assert main(["import"]) == 0

    objects = [json.loads(line) for line in cli_env.last.upload()[2].splitlines()]
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert titles == {"ops-health-*", "ops-anomalies", "ops-logs*"}
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err


def test_cli_lists_each_failed_object_and_exits_1(cli_env: FakeKibana, capsys: pytest.CaptureFixture) -> None:
    cli_env.reply(200, PARTIAL_FAILURE)

    assert main(["import"]) == 1

    out, err = capsys.readouterr()
    assert "dashboard/d1" in err and "lens/l1" in err
    assert PASSWORD not in out + err


@pytest.mark.parametrize("url", [None, ""])
def test_no_target_from_env_without_kibana_url(monkeypatch: pytest.MonkeyPatch, url: str | None) -> None:
    if url is None:
        monkeypatch.delenv("KIBANA_URL", raising=False)
    else:
        monkeypatch.setenv("KIBANA_URL", url)

    assert target_from_env() is None


def test_no_credentials_from_the_url_in_messages() -> None:
    target = KibanaTarget(url="http://elastic:s3cret@127.0.0.1:1")
    with pytest.raises(KibanaImportError) as caught:
        import_saved_objects(target, "{}\n", timeout_s=2)
    assert "s3cret" not in str(caught.value) and "http://127.0.0.1:1" in str(caught.value)
