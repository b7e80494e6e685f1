"""scripts/postgres.sh runs a real cluster: init, start, a database Airflow's driver can use,
reuse, stop, port closed. Its own port, so it never disturbs the cluster of the e2e tests."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"
PORT = int(os.environ.get("PG_SCRIPT_TEST_PORT", "5451"))


def run_script(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PG_PORT": str(PORT)}
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


def port_is_open() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", PORT)) == 0


@pytest.fixture
def cluster():
    assert not port_is_open(), f"port {PORT} is already in use; set PG_SCRIPT_TEST_PORT"
    yield
    run_script("stop")


def test_start_use_reuse_stop(cluster) -> None:
    import sqlalchemy

    started = run_script("start")
    assert started.returncode == 0, started.stderr
    database = f"probe_{uuid.uuid4().hex[:8]}"
    assert run_script("createdb", database).returncode == 0
    url = run_script("url", database).stdout.strip()
    assert url.startswith("postgresql+psycopg2://airflow:") and url.endswith(f"@127.0.0.1:{PORT}/{database}")
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("create table t (x int)"))
        connection.execute(sqlalchemy.text("insert into t values (42)"))
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("select x from t")).scalar_one() == 42
    engine.dispose()

    wrong = url.replace("airflow:", "airflow:x", 1)
    with pytest.raises(sqlalchemy.exc.OperationalError, match="password authentication failed"):
        sqlalchemy.create_engine(wrong).connect()

    reused = run_script("start")
    assert reused.returncode == 0 and "reused" in reused.stderr
    assert run_script("dropdb", database).returncode == 0
    refused = run_script("createdb", "Not-A-Name")
    assert refused.returncode != 0 and "lower-case letters" in refused.stderr

    stopped = run_script("stop")
    assert stopped.returncode == 0 and not port_is_open()
    assert run_script("status").returncode == 3
