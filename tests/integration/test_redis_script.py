"""scripts/redis.sh runs a real Redis, the Celery stack's broker: start, a broker URL Celery's
client can use, a wrong password refused, the password on no command line, reuse, stop, port
closed. Its own port, so it never disturbs the stack of the e2e tests."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "redis.sh"
PORT = int(os.environ.get("REDIS_SCRIPT_TEST_PORT", "6391"))


def run_script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDIS_PORT": str(PORT)}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


def port_is_open() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", PORT)) == 0


@pytest.fixture
def server():
    assert not port_is_open(), f"port {PORT} is already in use; set REDIS_SCRIPT_TEST_PORT"
    yield
    run_script("stop")


def test_start_use_reuse_stop(server) -> None:
    import redis

    started = run_script("start")
    assert started.returncode == 0, started.stderr
    url = run_script("url", "3").stdout
    assert url.startswith("redis://:") and url.endswith(f"@127.0.0.1:{PORT}/3") and "\n" not in url
    client = redis.Redis.from_url(url)
    client.set("probe", "42")
    assert client.get("probe") == b"42"
    client.close()

    password = url.removeprefix("redis://:").split("@")[0]
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(url.replace(password, "wrong")).ping()
    command_lines = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert password not in command_lines, "the password must not show in ps"

    reused = run_script("start")
    assert reused.returncode == 0 and "reused" in reused.stderr
    assert run_script("url", "x").returncode != 0

    stopped = run_script("stop")
    assert stopped.returncode == 0 and not port_is_open()
    assert run_script("status").returncode == 3
