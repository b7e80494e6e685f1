"""Helpers the tests share (import them from here, never from a conftest)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple


def state_of(thing: Any) -> str:
    """The plain state ("success", "failed", "upstream_failed", …) of a DagRun or TaskInstance,
    or of a state enum or string: one spelling for every run-state check."""
    state = getattr(thing, "state", thing)
    return str(getattr(state, "value", state))


def task_states(run: Any) -> dict[tuple[str, int], str]:
    """(task_id, map_index) -> plain state of every task instance of a DagRun."""
    return {(ti.task_id, ti.map_index): state_of(ti) for ti in run.get_task_instances()}


def connection_json(port: int, **fields: Any) -> str:
    """An `elasticsearch_default` connection (AIRFLOW_CONN_… JSON) to the local node on `port`."""
    return json.dumps({"conn_type": "elasticsearch", "host": "localhost", "port": port, "schema": "http", **fields})


def delete_indices(es, pattern: str) -> None:
    """Delete the indices and index templates matching `pattern` (the cluster refuses wildcard
    deletes of indices, so they are listed and named)."""
    names = list(es.indices.get(index=pattern, allow_no_indices=True))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=pattern)


def spool_entry(report: list[dict[str, Any]], destination: str, spool_dir: object = None) -> dict[str, Any]:
    """The entry of `destination` in a `python -m include.stack.delivery` report (one per spool):
    in the host's own spool root unless `spool_dir` names another (the report lists that first)."""
    entries = [e for e in report if e["destination"] == destination]
    if spool_dir is not None:
        entries = [e for e in entries if e["spool"].startswith(str(spool_dir))]
    assert entries, f"no spool of {destination} in {report}"
    return entries[0]


@dataclass(frozen=True)
class ServiceScript:
    """One of scripts/{elasticsearch,postgres,redis}.sh on a port of a test's own, so a test of
    the script never disturbs the service the rest of the suite uses."""

    name: str  # e.g. "postgres"
    port_variable: str  # the script's port setting, e.g. "PG_PORT"
    port: int

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        script = Path(__file__).resolve().parents[1] / "scripts" / f"{self.name}.sh"
        env = {**os.environ, self.port_variable: str(self.port)}
        return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=300)

    def port_is_open(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    @contextlib.contextmanager
    def on_a_free_port(self, override: str) -> Iterator[ServiceScript]:
        """The script, its port checked free first (`override`: the variable that moves it),
        and its service stopped afterwards."""
        assert not self.port_is_open(), f"port {self.port} is already in use; set {override}"
        try:
            yield self
        finally:
            self.run("stop")


class DeliveryRun(NamedTuple):
    code: int
    report: Any  # the JSON of its last stdout line (None without output)
    stderr: str


def delivery_command(*args: str, env: dict[str, str] | None = None, check: bool = False) -> DeliveryRun:
    """`python -m include.stack.delivery ARGS` in `env` (default: this process's environment);
    with `check`, a non-zero exit fails the test with the command's output."""
    result = subprocess.run(
        [sys.executable, "-m", "include.stack.delivery", *args],
        capture_output=True,
        text=True,
        env=os.environ if env is None else env,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    lines = result.stdout.strip().splitlines()
    return DeliveryRun(result.returncode, json.loads(lines[-1]) if lines else None, result.stderr)


def spooled_actions(spool_dir: Path) -> list[dict[str, Any]]:
    """What a spool keeps: its file, and the batches a replay claimed and kept (e.g. a task's
    exit drain that found the node away)."""
    files = [spool_dir / "spool.jsonl", *sorted(spool_dir.glob("replay-*.jsonl"))]
    return [json.loads(line) for path in files if path.exists() for line in path.read_text().splitlines()]
