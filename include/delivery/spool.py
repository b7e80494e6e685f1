"""A durable local spool for documents Elasticsearch could not take, and a dead-letter file.

Files in the spool directory:
  spool.jsonl          actions waiting for Elasticsearch (one JSON object per line)
  replay-<pid>-<ns>.jsonl  a batch claimed by a replay; what a replay did not get to (its limit,
                       a new outage, a crash) stays there for the next one: deterministic ids
                       make a re-send harmless
  deadletter.jsonl     documents Elasticsearch rejected, with the reason; never retried blindly,
                       re-sent on request (`replay --dead-letters`) once the cause is fixed
  deadletter-replay-<pid>-<ns>.jsonl  dead letters claimed by such a re-send (same recovery
                       as a replay batch)
  spool.lock / replay.lock  flock(2) locks: appends are serialised between task processes,
                       and only one replay runs at a time (others skip, they do not wait)
  problems.json        what keeps delivery from working (an index template the cluster
                       refuses), for `status`: count, first and last time, latest message
Lines are ASCII JSON (a cut line never splits a character); any value JSON lacks (numpy
numbers, datetimes, Decimals) is converted, so spooling cannot fail on a document the
Elasticsearch client would have accepted. Every append is flushed and fsync'ed, and starts on a
fresh line even if a killed process left a partial one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, NotRequired, TypedDict, cast


class Action(TypedDict):
    """One document action, as shipped and as spooled (`shipper` says what each kind does)."""

    _index: str
    _id: str
    _source: dict[str, Any]  # the document ({} for a delete)
    _version: NotRequired[int]  # an external version: `index` instead of `create`
    _op_type: NotRequired[Literal["delete"]]


class Problem(TypedDict):
    """Something that keeps delivery from working, as `problems.json` keeps it."""

    count: int
    first_at: str
    last_at: str
    message: str


class BrokenLine(TypedDict):
    """A spool line that does not parse, as the dead-letter file keeps it."""

    _raw: str


ACTION_KEYS = {"_index", "_id", "_source"}
MIN_FREE_BYTES = 1 << 20  # below this, `status` calls the spool unwritable
# A spool file that is not there, or whose directory cannot be one (a file in the way): it holds nothing.
NOTHING_THERE = (FileNotFoundError, NotADirectoryError)


def _json_default(value: object) -> object:
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def to_json_line(record: Mapping[str, object]) -> bytes:
    return (json.dumps(record, separators=(",", ":"), default=_json_default) + "\n").encode("ascii")


def parse_line(raw: bytes) -> Action | None:
    """An action from one line; a line a killed writer left partial in front of it is skipped."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    for start in (0, text.rfind('{"_index"')):
        if start < 0:
            continue
        try:
            action = json.loads(text[start:])
        except ValueError:
            continue
        if isinstance(action, dict) and action.keys() >= ACTION_KEYS:
            return cast(Action, action)
    return None


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "spool.jsonl"
        self.deadletter_path = self.directory / "deadletter.jsonl"
        self.problems_path = self.directory / "problems.json"

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
    def _append_lines(path: Path, lines: Iterable[bytes]) -> None:
        with open(path, "ab+") as handle:
            if handle.seek(0, os.SEEK_END) > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":  # a writer was killed mid-line: start a fresh one
                    handle.write(b"\n")
            for line in lines:
                handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    def append(self, actions: list[Action]) -> None:
        if not actions:
            return
        lines = [to_json_line(a) for a in actions]
        with self._lock("spool.lock"):
            self._append_lines(self.path, lines)

    def dead_letter(self, action: Action | BrokenLine, status: int | None, reason: dict[str, Any] | str | None) -> None:
        record: dict[str, object] = {
            "failed_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "status": status,
            "reason": reason,
            **action,
        }
        with self._lock("spool.lock"):
            self._append_lines(self.deadletter_path, [to_json_line(record)])

    def problems(self) -> dict[str, Problem]:
        """What `note_problem` recorded and no `clear_problem` has cleared yet."""
        try:
            return cast(dict[str, Problem], json.loads(self.problems_path.read_text()))
        except (OSError, ValueError):
            return {}

    def note_problem(self, kind: str, message: str) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock("spool.lock"):
            problems = self.problems()
            seen = problems.get(kind)
            problems[kind] = {
                "count": (seen["count"] if seen else 0) + 1,
                "first_at": seen["first_at"] if seen else now,
                "last_at": now,
                "message": message,
            }
            self._write_problems(problems)

    def clear_problem(self, kind: str) -> None:
        if kind not in self.problems():
            return
        with self._lock("spool.lock"):
            problems = self.problems()
            problems.pop(kind, None)
            self._write_problems(problems)

    def _write_problems(self, problems: dict[str, Problem]) -> None:
        tmp = self.problems_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(problems, indent=2))
        tmp.replace(self.problems_path)

    def unwritable_because(self) -> str | None:
        """None when an append can work here; else why it cannot (for `status`)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.directory / "spool.lock", "a"):
                pass
            free = shutil.disk_usage(self.directory).free
        except OSError as err:
            return f"{type(err).__name__}: {err}"
        return None if free >= MIN_FREE_BYTES else f"{free} bytes free on the spool's file system"

    def claim_dead_letters(self) -> contextlib.AbstractContextManager[list[Path] | None]:
        """Take the dead letters for a re-send, as `claim` takes the spool; new ones go on into
        a fresh dead-letter file."""
        return self._claim(self.deadletter_path, "deadletter-replay-")

    @staticmethod
    def read_dead_letters(path: Path) -> tuple[list[Action], list[bytes]]:
        """The actions of a claimed dead-letter file, and the lines that hold none (an
        unparsable spool line's record): those can only be kept."""
        actions: list[Action] = []
        kept: list[bytes] = []
        with open(path, "rb") as handle:
            for raw in handle:
                if not raw.strip():
                    continue
                action = parse_line(raw)
                if action is None:
                    kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
                else:
                    fields = ACTION_KEYS | {"_version", "_op_type"}
                    actions.append(cast(Action, {k: v for k, v in action.items() if k in fields}))
        return actions, kept

    def keep_dead_letter_lines(self, lines: list[bytes]) -> None:
        if lines:
            with self._lock("spool.lock"):
                self._append_lines(self.deadletter_path, lines)

    def _replay_files(self) -> list[Path]:
        return sorted(self.directory.glob("replay-*.jsonl"))

    def pending_bytes(self) -> int:
        """Cheap check (a few stats) used after every successful write to decide on a replay."""
        total = 0
        for path in (self.path, *self._replay_files()):
            with contextlib.suppress(*NOTHING_THERE):  # a replay may release it meanwhile
                total += path.stat().st_size
        return total

    def claim(self) -> contextlib.AbstractContextManager[list[Path] | None]:
        """Take everything spooled so far for one replay; None when another replay is running.

        Appends go on into a fresh spool file meanwhile. The claimed files belong to the caller
        until it leaves the block: it `release`s each one it emptied and `keep_rest`s the others.
        """
        return self._claim(self.path, "replay-")

    @contextlib.contextmanager
    def _claim(self, source: Path, prefix: str) -> Iterator[list[Path] | None]:
        """Rename `source` to a `<prefix><pid>-<ns>.jsonl` batch (under the append lock) and
        yield every such batch, older unfinished ones included; None while a replay runs."""
        with self._lock("replay.lock", blocking=False) as acquired:
            if not acquired:
                yield None
                return
            with self._lock("spool.lock"):
                if source.exists() and source.stat().st_size:
                    source.rename(self.directory / f"{prefix}{os.getpid()}-{time.time_ns()}.jsonl")
            yield sorted(self.directory.glob(f"{prefix}*.jsonl"))

    @staticmethod
    def read_chunk(handle: IO[bytes], size: int) -> tuple[list[Action], list[str], bool]:
        """Up to `size` lines of a claimed file: (actions, unparsable lines, end reached)."""
        actions: list[Action] = []
        broken: list[str] = []
        for _ in range(size):
            raw = handle.readline()
            if not raw:
                return actions, broken, True
            if not raw.strip():
                continue
            action = parse_line(raw)
            if action is None:
                broken.append(raw.decode("utf-8", "replace").rstrip("\n"))
            else:
                actions.append(action)
        return actions, broken, False

    @staticmethod
    def keep_rest(path: Path, handle: IO[bytes]) -> None:
        """Replace a claimed file by what is left after the handle's position (atomically)."""
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            shutil.copyfileobj(handle, out)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)

    @staticmethod
    def release(path: Path) -> None:
        path.unlink(missing_ok=True)

    def count(self, path: Path | None = None) -> int:
        """Lines waiting in `path`, or in the spool and every unfinished replay batch."""
        paths = [path] if path else [self.path, *self._replay_files()]
        total = 0
        for target in paths:
            with contextlib.suppress(*NOTHING_THERE), open(target, "rb") as handle:
                total += sum(1 for line in handle if line.strip())
        return total
