"""scripts/redis.sh runs a real Redis, the Celery stack's broker: start, a broker URL Celery's
client can use, a wrong password refused, the password on no command line, reuse, stop, port
closed. Its own port, so it never disturbs the stack of the e2e tests."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support import ServiceScript

SCRIPT = ServiceScript("redis", "REDIS_PORT", int(os.environ.get("REDIS_SCRIPT_TEST_PORT", "6391")))
PORT = SCRIPT.port


@pytest.fixture
def server():
    with SCRIPT.on_a_free_port("REDIS_SCRIPT_TEST_PORT"):
        yield


def test_start_use_reuse_stop(server) -> None:
    import redis

    started = SCRIPT.run("start")
    assert started.returncode == 0, started.stderr
    url = SCRIPT.run("url", "3").stdout
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

    reused = SCRIPT.run("start")
    assert reused.returncode == 0 and "reused" in reused.stderr
    assert SCRIPT.run("url", "x").returncode != 0

    stopped = SCRIPT.run("stop")
    assert stopped.returncode == 0 and not SCRIPT.port_is_open()
    assert SCRIPT.run("status").returncode == 3
