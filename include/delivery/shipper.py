"""Ship documents to Elasticsearch without losing or duplicating any.

- One `_bulk` request per call. Actions with deterministic ids are `create`d: a document that
  is already there answers 409, which counts as delivered (a re-send is a no-op). Actions that
  carry a `_version` are `index`ed with that external version: a newer write replaces, an
  older or repeated one answers 409 and counts as delivered (a late replay never wins).
  Actions with `"_op_type": "delete"` (and a `_version`) are deletes with that external
  version: spooled and replayed like writes; 404 (nothing there) counts as delivered too.
- Bounded retries with exponential backoff (tenacity) on connection errors, timeouts, 429 and
  5xx, within a time budget; only the items that still need it are re-sent. An item refused
  with 403 (a write block, a missing privilege) or 404 (no index and no auto-creation) is
  retried the same way and then spooled, not dead-lettered: its cause is the cluster's state,
  which an operator or the cluster itself fixes.
- After a failed delivery the shipper spools straight away for `cooldown_s` (a circuit
  breaker), so an outage costs each process one time budget, not one per event.
- Whatever is still undelivered goes to the durable spool; items Elasticsearch rejects with
  another 4xx (e.g. a mapping conflict) go to the dead-letter file with the reason.
- After a successful write the spool is replayed (up to a batch limit), and
  `python -m include.stack.delivery replay` replays all of it; `replay --dead-letters` re-sends
  the dead letters once their cause is fixed, keeping those that are rejected again.
- Rejection reasons and warnings pass `include.redaction` (documents are redacted by their
  producer, e.g. task health's `emitter.emit`).
- A secured cluster that refuses the client (wrong credentials, an untrusted certificate, a
  missing privilege: `include.delivery.refusals`) is configuration, not an outage: the events
  are spooled (never dead-lettered) and the error says what to fix. With a least-privilege
  writer the templates are the admin's job (`manage_templates=False`: no template call at all).
- Nothing here raises: problems are logged as warnings (errors when the cause is
  configuration: a refused index template or client, an unwritable spool) and counted.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

from include.delivery.refusals import Refusal, is_tls_failure, refusal_of, what_to_fix
from include.delivery.spool import Action, BrokenLine, Spool
from include.delivery.templates import IndexTemplate, TemplateError, ensure_template
from include.redaction import redact

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

log = logging.getLogger("include.delivery")
REPLAY_CHUNK = 500
# Item statuses sent again within the budget, then spooled: 429, and 403/404 (a write block, a
# missing privilege, no index): the cluster's state, not the document, is the cause. 5xx too.
RETRIED_ITEM_STATUSES = {403, 404, 429}
TEMPLATE_PROBLEM = "index_template"  # the spool's problem record of a refused template
DESCRIBE_LIMIT = 500  # characters of an error in a warning


@dataclass
class _BulkAnswer:
    """What one `_bulk` round did with each item."""

    delivered: int = 0
    retry: list[Action] = field(default_factory=list)
    rejected: list[tuple[Action, int, dict[str, Any] | None]] = field(default_factory=list)  # with reasons
    last_retry_status: str = ""  # e.g. "403 cluster_block_exception: index [x] blocked by …"
    refusal: Refusal | None = None  # an item refused for the client's lack of a privilege


class _Retryable(Exception):
    """Some items (or the whole request) may succeed if sent again."""

    def __init__(self, message: str, refusal: Refusal | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal


@dataclass
class ShipResult:
    delivered: int = 0
    spooled: int = 0
    dead_lettered: int = 0
    replayed: int = 0
    lost: int = 0  # neither delivered nor kept: the spool could not be written (logged as an error)

    def __iadd__(self, other: ShipResult) -> ShipResult:
        self.delivered += other.delivered
        self.spooled += other.spooled
        self.dead_lettered += other.dead_lettered
        self.replayed += other.replayed
        self.lost += other.lost
        return self


def describe(err: BaseException) -> str:
    """One line for a warning: masked first, then cut (a cut secret would no longer be recognised)."""
    return redact(f"{type(err).__name__}: {err}")[:DESCRIBE_LIMIT]


def _is_delete(action: Action) -> bool:
    return action.get("_op_type") == "delete"


def _operation(action: Action) -> dict[str, Any]:
    target = {"_index": action["_index"], "_id": action["_id"]}
    if _is_delete(action):
        return {"delete": {**target, "version": action["_version"], "version_type": "external"}}
    if "_version" in action:
        return {"index": {**target, "version": action["_version"], "version_type": "external"}}
    return {"create": target}


class Shipper:
    """Delivers actions through a lazily created client; one instance per process is enough."""

    def __init__(
        self,
        client_factory: Callable[[], Elasticsearch],
        spool: Spool,
        template: IndexTemplate,
        budget_s: float = 6.0,
        max_attempts: int = 3,
        replay_batch_limit: int = 5000,
        cooldown_s: float = 30.0,
        request_timeout_s: float = 2.0,
        manage_templates: bool = True,
        conn_id: str = "elasticsearch_default",
    ) -> None:
        self._client_factory = client_factory
        self._client: Elasticsearch | None = None
        self._bounded: dict[float, Elasticsearch] = {}  # the client with a per-request timeout, by timeout
        self._templates_ready = False
        self.spool = spool
        self.template = template
        self.budget_s = budget_s
        self.max_attempts = max_attempts
        self.replay_batch_limit = replay_batch_limit
        self.cooldown_s = cooldown_s
        self.request_timeout_s = request_timeout_s
        self.manage_templates = manage_templates  # False: an admin installs the template (a writer may not)
        self.conn_id = conn_id  # named in what-to-fix messages
        self._unavailable_until = 0.0
        self.spooled_here = 0  # actions this instance spooled (an exit drain asks whether to try)

    def ship(self, actions: list[Action], replay_after: bool = True) -> ShipResult:
        """Deliver, spool or dead-letter every action (the producer has redacted them)."""
        result = self._deliver(actions)
        if result.spooled or result.lost or not replay_after:
            return result
        try:
            if self.spool.pending_bytes():
                # Catching up rides on a task's callback: bounded in count and in time.
                result += self.replay(limit=self.replay_batch_limit, time_budget_s=self.budget_s)
        except OSError as err:
            log.error("%s: the spool %s cannot be replayed (%s)", self.template.name, self.spool.path, describe(err))
        return result

    def replay(self, limit: int | None = None, time_budget_s: float | None = None) -> ShipResult:
        """Re-send spooled actions (same ids), in chunks, up to `limit` of them (None: all),
        within `time_budget_s` (None: each chunk gets the shipper's budget, with no bound on
        the whole; else no chunk goes on past it).

        Skips when another replay holds the spool. Stops at the first chunk that cannot be
        delivered (its actions go back to the spool); whatever it did not get to stays in the
        claimed batch file for the next replay.
        """
        self._unavailable_until = 0.0  # a replay always tries the cluster
        total = ShipResult()
        with self.spool.claim() as claimed:
            if claimed is None:
                return total
            deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
            for path in claimed:
                with open(path, "rb") as handle:
                    exhausted = self._replay_file(handle, limit, deadline, total)
                    if exhausted:
                        self.spool.release(path)
                    else:
                        self.spool.keep_rest(path, handle)
                if not exhausted:
                    break
        if total.replayed or total.dead_lettered or total.spooled:
            log.info("%s: spool replay: %s", self.template.name, total)
        return total

    def replay_dead_letters(self) -> ShipResult:
        """Re-send every dead letter, its cause fixed: what is delivered leaves the file, what is
        rejected again comes back with the new reason, what the cluster cannot take now is
        spooled. Skips when a replay holds the spool."""
        self._unavailable_until = 0.0
        total = ShipResult()
        with self.spool.claim_dead_letters() as claimed:
            if claimed is None:
                return total
            for path in claimed:
                actions, kept = self.spool.read_dead_letters(path)
                self.spool.keep_dead_letter_lines(kept)
                for start in range(0, len(actions), REPLAY_CHUNK):
                    outcome = self._deliver(actions[start : start + REPLAY_CHUNK])
                    outcome.replayed, outcome.delivered = outcome.delivered, 0  # counted as `replay` does
                    total += outcome
                self.spool.release(path)
        log.info("%s: dead-letter re-send: %s", self.template.name, total)
        return total

    def _replay_file(self, handle: IO[bytes], limit: int | None, deadline: float | None, total: ShipResult) -> bool:
        """Deliver chunks of one claimed file into `total`; True when the file is used up."""
        while True:
            done = total.replayed + total.spooled + total.dead_lettered
            room = REPLAY_CHUNK if limit is None else min(REPLAY_CHUNK, limit - done)
            if room <= 0 or (deadline is not None and time.monotonic() > deadline):
                return False
            actions, broken, exhausted = self.spool.read_chunk(handle, room)
            for line in broken:
                self._dead_letter({"_raw": redact(line)}, None, "unparsable spool line", total)
            outcome = self._deliver(actions, deadline)
            total.replayed += outcome.delivered
            total.spooled += outcome.spooled
            total.dead_lettered += outcome.dead_lettered
            total.lost += outcome.lost
            if outcome.spooled or outcome.lost or exhausted:
                return exhausted

    @property
    def warm(self) -> bool:
        """Whether the next delivery is one request away (client made, template checked)."""
        return self._client is not None and self._templates_ready

    def install_template(self) -> bool:
        """Install the index template now (raises on failure: for commands, not callbacks)."""
        if self._client is None:
            self._client = self._client_factory()
        written = ensure_template(self._client, self.template)
        self._template_installed()
        return written

    def _client_ready(self, timeout_s: float) -> Elasticsearch:
        """The client, bounded to `timeout_s` per request, with the template installed."""
        if self._client is None:
            self._client = self._client_factory()
        client = self._bounded.get(timeout_s)
        if client is None:  # usually the full request timeout; a shorter one only near the budget's end
            client = self._client.options(request_timeout=timeout_s)
            if timeout_s == self.request_timeout_s:
                self._bounded[timeout_s] = client
        if not self._templates_ready:
            if self.manage_templates:
                ensure_template(client, self.template)
            self._template_installed()
        return client

    def _template_installed(self) -> None:
        self._templates_ready = True
        with contextlib.suppress(OSError):
            self.spool.clear_problem(TEMPLATE_PROBLEM)

    def _keep(self, actions: list[Action], result: ShipResult) -> None:
        """Spool `actions`; a spool that cannot be written is an error in the log, never a raise."""
        try:
            self.spool.append(actions)
            result.spooled += len(actions)
            self.spooled_here += len(actions)
        except OSError as err:
            result.lost += len(actions)
            log.error(
                "%s: the spool %s cannot be written (%s): %d event(s) neither delivered nor kept. Give "
                "TASK_HEALTH_SPOOL_DIR room and write access, then check `python -m include.stack.delivery status`",
                self.template.name,
                self.spool.path,
                describe(err),
                len(actions),
            )

    def _dead_letter(
        self, action: Action | BrokenLine, status: int | None, reason: dict[str, Any] | str | None, result: ShipResult
    ) -> None:
        try:
            self.spool.dead_letter(action, status, reason)
            result.dead_lettered += 1
        except OSError as err:
            result.lost += 1
            log.error(
                "%s: the dead-letter file %s cannot be written (%s)",
                self.template.name,
                self.spool.deadletter_path,
                describe(err),
            )

    def _deliver(self, actions: list[Action], deadline: float | None = None) -> ShipResult:
        """One delivery within the shipper's budget, or less when `deadline` comes first."""
        result = ShipResult()
        pending = list(actions)
        if not pending:
            return result
        started = time.monotonic()
        deadline = started + self.budget_s if deadline is None else min(deadline, started + self.budget_s)
        if started < self._unavailable_until:
            self._keep(pending, result)
            return result
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.max_attempts) | stop_after_delay(max(deadline - started, 0.0)),
                wait=wait_exponential(multiplier=0.2, max=2.0),
                retry=retry_if_exception_type(_Retryable),
                reraise=True,
            ):
                with attempt:
                    answer = self._bulk_once(pending, deadline)
                    pending = answer.retry
                    result.delivered += answer.delivered
                    for action, status, error in answer.rejected:
                        reason = None if error is None else redact(error)
                        self._dead_letter(action, status, reason, result)
                        log.warning(
                            "%s: document %s rejected (%s): %s", self.template.name, action["_id"], status, reason
                        )
                    if pending:
                        raise _Retryable(
                            f"{len(pending)} item(s) to retry, the last answered {answer.last_retry_status}",
                            answer.refusal,
                        )
        except TemplateError as err:  # configuration: loud, recorded for `status`, events kept
            self._unavailable_until = time.monotonic() + self.cooldown_s
            with contextlib.suppress(OSError):
                self.spool.note_problem(TEMPLATE_PROBLEM, str(err))
            log.error(
                "%s: %s. %d event(s) spooled to %s until the template is in place; then the drainer or "
                "`python -m include.stack.delivery replay` delivers them",
                self.template.name,
                err,
                len(pending),
                self.spool.path,
            )
            self._keep(pending, result)
        except Exception as err:  # connection, timeout, refused client: keep the events
            self._keep(pending, result)
            self._unavailable_until = time.monotonic() + self.cooldown_s
            self._report_undelivered(err, len(pending), time.monotonic() - started)
        return result

    def _report_undelivered(self, err: Exception, count: int, spent_s: float) -> None:
        """A refused client is an error saying what to fix; anything else, an outage's warning."""
        refusal = err.refusal if isinstance(err, _Retryable) else refusal_of(err)
        if refusal is not None:
            log.error(
                "%s: %s. %d event(s) spooled to %s (kept, not dead-lettered: the documents are fine); once "
                "fixed, the drainer or `python -m include.stack.delivery replay` delivers them",
                self.template.name,
                redact(what_to_fix(refusal, self.conn_id))[: 2 * DESCRIBE_LIMIT],
                count,
                self.spool.path,
            )
            return
        log.warning(
            "%s: Elasticsearch unavailable after %.1fs (%s); %d event(s) spooled to %s; "
            "spooling directly for the next %.0fs",
            self.template.name,
            spent_s,
            describe(err),
            count,
            self.spool.path,
            self.cooldown_s,
        )

    def _bulk_once(self, pending: list[Action], deadline: float) -> _BulkAnswer:
        """One `_bulk` round. Every request of the round gets at most the time left before `deadline`."""
        from elasticsearch import ApiError, TransportError

        left = deadline - time.monotonic()
        if left <= 0.05:
            raise _Retryable("time budget used up")
        try:
            client = self._client_ready(min(self.request_timeout_s, left))
            operations: list[dict[str, Any]] = []
            for action in pending:
                operations.append(_operation(action))
                if not _is_delete(action):  # a delete has no source line
                    operations.append(action["_source"])
            response = client.bulk(operations=operations)
        except TransportError as err:
            if is_tls_failure(err):  # an untrusted certificate stays untrusted: no retry
                raise
            raise _Retryable(describe(err)) from err
        except ApiError as err:
            if err.status_code == 429 or err.status_code >= 500:
                raise _Retryable(describe(err)) from err
            raise
        return _answer(pending, response["items"])


def _answer(pending: list[Action], items: list[dict[str, Any]]) -> _BulkAnswer:
    """What a `_bulk` response's items say about each of `pending` (same order)."""
    answer = _BulkAnswer()
    for action, item in zip(pending, items, strict=True):
        outcome = next(iter(item.values()))  # {"create": {...}}, {"index": {...}} or {"delete": {...}}
        status = outcome["status"]
        if status < 300 or status == 409 or (status == 404 and _is_delete(action)):
            answer.delivered += 1
        elif status in RETRIED_ITEM_STATUSES or status >= 500:
            answer.retry.append(action)
            error = outcome.get("error") or {}
            answer.last_retry_status = f"{status} {error.get('type', '')}: {error.get('reason', '')}"
            if status == 403 and error.get("type") == "security_exception":
                answer.refusal = Refusal(status, error["type"], error.get("reason", ""))
        else:
            answer.rejected.append((action, status, outcome.get("error")))
    return answer
