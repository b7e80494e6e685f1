"""A durable local spool for documents Elasticsearch could not take, and a dead-letter file.

Files in the spool directory:
  spool.jsonl          actions waiting for Elasticsearch (one JSON object per line)
  replay-<pid>-<ns>.jsonl  a batch claimed by a replay in progress (left behind if it crashed;
                       the next replay picks it up: deterministic ids make a re-send harmless)
  deadletter.jsonl     documents Elasticsearch rejected, with the reason; never retried blindly
  spool.lock / replay.lock  flock(2) locks: appends are serialised between task processes,
                       and only one replay runs at a time (others skip, they do not wait)
Every append is flushed and fsync'ed before returning: a spooled event survives a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Action = dict[str, Any]  # {"_index": str, "_id": str, "_source": dict}


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "spool.jsonl"
        self.deadletter_path = self.directory / "deadletter.jsonl"

    @contextlib.contextmanager
    def _lock(self, name: str, blocking: bool = True) -> Iterator[bool]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / name, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _append_lines(path: Path, records: list[dict[str, Any]]) -> None:
        with open(path, "a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, actions: list[Action]) -> None:
        if not actions:
            return
        with self._lock("spool.lock"):
            self._append_lines(self.path, actions)

    def dead_letter(self, action: Action, status: int | None, reason: Any) -> None:
        record = {
            "failed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "status": status,
            "reason": reason,
            **action,
        }
        with self._lock("spool.lock"):
            self._append_lines(self.deadletter_path, [record])

    def pending_bytes(self) -> int:
        """Cheap check (one stat) used after every successful write to decide on a replay."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        return size + sum(p.stat().st_size for p in self.directory.glob("replay-*.jsonl"))

    @contextlib.contextmanager
    def claim(self) -> Iterator[list[Path] | None]:
        """Take everything spooled so far for one replay; None when another replay is running.

        Appends go on into a fresh spool file meanwhile. The caller must `release` each claimed
        file once its lines are delivered, dead-lettered or re-spooled.
        """
        with self._lock("replay.lock", blocking=False) as acquired:
            if not acquired:
                yield None
                return
            with self._lock("spool.lock"):
                if self.path.exists() and self.path.stat().st_size:
                    self.path.rename(self.directory / f"replay-{os.getpid()}-{time.time_ns()}.jsonl")
            yield sorted(self.directory.glob("replay-*.jsonl"))

    def read(self, path: Path) -> tuple[list[Action], list[str]]:
        """The actions of a claimed file, and any lines that are not valid actions."""
        actions, broken = [], []
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    action = json.loads(line)
                    if not {"_index", "_id", "_source"} <= action.keys():
                        raise ValueError("missing _index/_id/_source")
                    actions.append(action)
                except (ValueError, AttributeError):
                    broken.append(line.rstrip("\n"))
        return actions, broken

    @staticmethod
    def release(path: Path) -> None:
        path.unlink(missing_ok=True)

    def count(self, path: Path | None = None) -> int:
        target = path or self.path
        if not target.exists():
            return 0
        with open(target, "rb") as handle:
            return sum(1 for line in handle if line.strip())
