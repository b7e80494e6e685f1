"""scripts/postgres.sh runs a real cluster: init, start, a database Airflow's driver can use,
reuse, stop, port closed. Its own port, so it never disturbs the cluster of the e2e tests."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.support import ServiceScript

SCRIPT = ServiceScript("postgres", "PG_PORT", int(os.environ.get("PG_SCRIPT_TEST_PORT", "5451")))
PORT = SCRIPT.port


@pytest.fixture
def cluster():
    with SCRIPT.on_a_free_port("PG_SCRIPT_TEST_PORT"):
        yield


def test_start_use_reuse_stop(cluster) -> None:
    import sqlalchemy

    started = SCRIPT.run("start")
    assert started.returncode == 0, started.stderr
    database = f"probe_{uuid.uuid4().hex[:8]}"
    assert SCRIPT.run("createdb", database).returncode == 0
    url = SCRIPT.run("url", database).stdout.strip()
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

    reused = SCRIPT.run("start")
    assert reused.returncode == 0 and "reused" in reused.stderr
    assert SCRIPT.run("dropdb", database).returncode == 0
    refused = SCRIPT.run("createdb", "Not-A-Name")
    assert refused.returncode != 0 and "lower-case letters" in refused.stderr

    stopped = SCRIPT.run("stop")
    assert stopped.returncode == 0 and not SCRIPT.port_is_open()
    assert SCRIPT.run("status").returncode == 3
