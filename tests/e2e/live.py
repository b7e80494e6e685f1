"""The live Airflow the e2e tests drive (`airflow standalone` in its own home and port) and
the names they share: its URL and index prefix."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.session import ES_PORT, PROJECT_ROOT, SESSION_INDEX_PREFIX
from tests.support import connection_json

PORT = int(os.environ.get("AIRFLOW_E2E_PORT", "8799"))
BASE = f"http://localhost:{PORT}"


@dataclass
class LiveAirflow:
    home: Path
    env: dict[str, str]
    base: str = BASE
    headers: dict[str, str] = field(default_factory=dict)  # e.g. a bearer token where sign-in is on

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One REST call, its answer as it is."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}/api/v2{path}", timeout=30, headers=headers, **kwargs)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text[:4000]}"
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.request("GET", f"/dags/{dag_id}").ok:
                return
            time.sleep(1)
        raise AssertionError(f"DAG {dag_id} was not parsed within {timeout}s")

    def trigger(
        self, dag_id: str, conf: dict | None = None, logical_date: str | None = None, run_id: str | None = None
    ) -> str:
        """Trigger as the UI/REST does (with `run_id`: under that id); returns the run id."""
        self.wait_for_dag(dag_id)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        body = {"logical_date": logical_date, "conf": conf or {}} | ({"dag_run_id": run_id} if run_id else {})
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def delete_run(self, dag_id: str, run_id: str) -> None:
        response = self.request("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}")
        assert response.status_code == 204, f"DELETE run {run_id}: {response.status_code} {response.text[:4000]}"

    def wait_for_executor_events(self, run_id: str, tries: int, timeout: float = 60) -> None:
        """Until the scheduler took the executor's event of `tries` tries of the run (its log says
        so). Airflow matches an event to a try by dag, task, run id, try number and map index: a
        run deleted and triggered again under its id before then receives the first run's
        events, and the scheduler fails its tries ("finished with state success, but the task
        instance's state attribute is queued")."""
        marker = "Received executor event with state"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = (self.home / "standalone.log").read_text(errors="replace").splitlines()
            if sum(marker in line and f"run_id='{run_id}'" in line for line in lines) >= tries:
                return
            time.sleep(0.5)
        raise AssertionError(f"the scheduler did not take the executor events of {tries} tries of {run_id}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in {"success", "failed"}:
                return state
            time.sleep(1)
        raise AssertionError(f"run {run_id} of {dag_id} did not finish within {timeout}s")


def healthy(base: str) -> bool:
    try:
        health = requests.get(f"{base}/api/v2/monitor/health", timeout=5).json()
    except (requests.RequestException, ValueError):
        return False
    parts = [v for v in health.values() if isinstance(v, dict)]
    return bool(parts) and all(p.get("status") == "healthy" for p in parts)


@contextlib.contextmanager
def standalone(env: dict[str, str], base: str) -> Iterator[LiveAirflow]:
    """`airflow standalone` in env's AIRFLOW_HOME (its output in standalone.log there), once
    healthy (at most 180 s); stopped with its whole process group."""
    with _serving(["airflow", "standalone"], env, base) as live:
        yield live


# What `airflow standalone` runs, as one process group, without the SimpleAuthManager and the
# LocalExecutor it forces on every deployment.
COMPONENTS = "airflow scheduler & airflow dag-processor & airflow triggerer & airflow api-server & wait"


@contextlib.contextmanager
def components(env: dict[str, str], base: str) -> Iterator[LiveAirflow]:
    """Airflow's components as separate commands (env's auth manager and executor kept), after
    a migration of env's metadata DB; their output in standalone.log, as `standalone`'s."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    migrated = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]
    with _serving(["bash", "-c", COMPONENTS], env, base) as live:
        yield live


@contextlib.contextmanager
def _serving(command: list[str], env: dict[str, str], base: str) -> Iterator[LiveAirflow]:
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "standalone.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 180
        while not healthy(base):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{' '.join(command)} did not become healthy:\n{log_path.read_text()[-4000:]}")
            time.sleep(2)
        yield LiveAirflow(home, env, base)
    finally:
        stop_group(process)


def install_templates(env: dict[str, str], admin_connection: str | None = None) -> None:
    """As a deployment does before its first run: the index templates, task logs' included.
    With `admin_connection` (a secured cluster, whose writer may not), through that one; the
    task logs' template then goes to the open node Airflow's own log handler writes to as well."""
    steps = [({}, [])]
    if admin_connection is not None:
        steps = [
            ({"AIRFLOW_CONN_ELASTICSEARCH_ADMIN": admin_connection}, ["--conn-id", "elasticsearch_admin"]),
            (
                {"AIRFLOW_CONN_ELASTICSEARCH_TASK_LOGS": connection_json(ES_PORT)},
                ["--conn-id", "elasticsearch_task_logs"],
            ),
        ]
    for extra_env, args in steps:
        subprocess.run(
            [sys.executable, "-m", "include.stack.delivery", "install-templates", *args],
            env={**env, **extra_env},
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )


POSTGRES_SCRIPT = PROJECT_ROOT / "scripts" / "postgres.sh"


def postgres(*args: str) -> str:
    """`scripts/postgres.sh ARGS` (the local cluster `make test` starts); its output."""
    result = subprocess.run([str(POSTGRES_SCRIPT), *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"scripts/postgres.sh {' '.join(args)}: {result.stderr[-2000:]}"
    return result.stdout.strip()


E2E_PREFIX = f"th-e2e-{uuid.uuid4().hex[:10]}"
E2E_DATABASE = f"airflow_e2e_{E2E_PREFIX.rsplit('-', 1)[-1]}"  # the live Airflow's metadata DB (PostgreSQL)
E2E_TASK_LOGS_INDEX = f"{SESSION_INDEX_PREFIX}_airflow-logs"  # deleted with the session's indices
REMOTE_LOGGING_KEYS = ("AIRFLOW__LOGGING__", "AIRFLOW__ELASTICSEARCH__")
SQLITE_CONNECT_ARGS = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"  # scripts/env.sh sets it for SQLite only
# The memory cgroup th_killed's out_of_memory task joins: cgroup v1's memory hierarchy, else v2's.
CGROUP_ROOT = next((p for p in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup")) if p.is_dir()), Path("/"))
OOM_CGROUP = CGROUP_ROOT / f"{E2E_PREFIX}-oom"
OOM_LIMIT_BYTES = 200 << 20


def task_logs_to_es_env(index: str) -> dict[str, str]:
    """The Airflow settings `scripts/env.sh` exports with AIRFLOW_TASK_LOGS_TO_ES=true, taken from
    the script itself so that the tests run what a developer switches on."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(REMOTE_LOGGING_KEYS)}
    switched_on = {"AIRFLOW_TASK_LOGS_TO_ES": "true", "AIRFLOW_TASK_LOGS_INDEX": index, "ES_PORT": str(ES_PORT)}
    result = subprocess.run(
        ["bash", "-c", ". scripts/env.sh && env -0"],
        env={**inherited, **switched_on},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = (item.partition("=") for item in result.stdout.split("\0") if item)
    return {key: value for key, _, value in pairs if key.startswith(REMOTE_LOGGING_KEYS)}


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole group (standalone's children too), SIGKILL what is left after 30 s."""
    deadline = time.monotonic() + 30
    sig = signal.SIGTERM
    while True:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        process.poll()
        if time.monotonic() > deadline:
            sig = signal.SIGKILL
        time.sleep(0.5)
    process.wait()


def documents_of_run(es, run_id: str, expected: int, timeout: float = 60) -> list[dict]:
    """Wait for the run's documents (the DAG-level summary arrives after the run ends)."""
    deadline = time.monotonic() + timeout
    while True:
        if es.indices.exists(index=f"{E2E_PREFIX}-*"):
            es.indices.refresh(index=f"{E2E_PREFIX}-*")
            hits = es.search(index=f"{E2E_PREFIX}-*", size=1000, query={"term": {"airflow.run_id": run_id}})
            docs = [h["_source"] for h in hits["hits"]["hits"]]
            if len(docs) >= expected or time.monotonic() > deadline:
                return docs
        elif time.monotonic() > deadline:
            return []
        time.sleep(1)


def create_memory_cgroup(path: Path, limit_bytes: int) -> bool:
    """A memory cgroup at `path` that the kernel's OOM killer enforces (no swap to hide in);
    False where this machine does not let the tests create one."""
    try:
        path.mkdir()
    except OSError:
        return False
    v1 = (path / "memory.limit_in_bytes").exists()
    if not v1 and not (path / "memory.max").exists():  # no memory controller here: not a cgroup of ours
        path.rmdir()
        return False
    limits = (
        [("memory.limit_in_bytes", limit_bytes), ("memory.memsw.limit_in_bytes", limit_bytes)]
        if v1
        else [("memory.max", limit_bytes), ("memory.swap.max", 0)]
    )
    for name, value in limits:
        if (path / name).exists():
            (path / name).write_text(str(value))
    return True
