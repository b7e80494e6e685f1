"""What a secured cluster's refusal means for the operator: wrong credentials, an untrusted
certificate, a missing privilege.

These are configuration, not outages: the events are kept (spooled, never dead-lettered, since
the documents are fine) and the log says what to fix, in one line with no secret in it (reasons
pass `include.redaction`; the cluster names the user, never the password or key).
"""

from __future__ import annotations

import ssl
from typing import NamedTuple

# What a writer needs, per kind of index (`scripts/elasticsearch.sh` gives its writer this role).
TASK_HEALTH_PRIVILEGES = ("create_doc", "read", "auto_configure")  # create only; the reconciler reads
ANOMALIES_PRIVILEGES = ("index", "delete", "read", "auto_configure")  # versioned re-runs replace and delete
PRIVILEGES = (
    f"its role needs {', '.join(TASK_HEALTH_PRIVILEGES)} on the task-health indices, and "
    f"{', '.join(ANOMALIES_PRIVILEGES)} on the anomalies index (the role `scripts/elasticsearch.sh` gives its writer)"
)


class Refusal(NamedTuple):
    """A request the cluster refused for who or how the client asked, not for what it sent."""

    status: int | None  # 401, 403; None for TLS (refused before any HTTP)
    error_type: str  # e.g. security_exception
    reason: str


def _tls_failure(err: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    stack: list[BaseException] = [err]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        stack += [e for e in (current.__cause__, current.__context__) if e is not None]
        stack += [e for e in getattr(current, "errors", ()) if isinstance(e, BaseException)]
    return None


def is_tls_failure(err: BaseException) -> bool:
    """The TLS handshake failed (an untrusted or mismatched certificate): no retry helps."""
    from elastic_transport import TlsError

    return isinstance(err, TlsError) or _tls_failure(err) is not None


def _tls_reason(cause: ssl.SSLError | None, err: BaseException) -> str:
    if cause is None:
        return str(err)
    verify = getattr(cause, "verify_message", None)  # e.g. "unable to get local issuer certificate"
    return f"{cause.reason}: {verify}" if verify else str(cause.reason or cause)


def refusal_of(err: BaseException) -> Refusal | None:
    """The refusal `err` reports (a request-level 401/403 or a TLS failure); None for anything else."""
    from elastic_transport import TlsError
    from elasticsearch import ApiError

    cause = _tls_failure(err)
    if cause is not None or isinstance(err, TlsError):
        return Refusal(None, "tls", _tls_reason(cause, err))
    if isinstance(err, ApiError) and err.status_code in (401, 403):
        error = err.body.get("error") if isinstance(err.body, dict) else None
        if isinstance(error, dict):
            return Refusal(err.status_code, str(error.get("type", "")), str(error.get("reason", "")) or err.message)
        return Refusal(err.status_code, "", str(error or err.message))
    return None


def what_to_fix(refusal: Refusal, conn_id: str) -> str:
    """One sentence an operator can act on."""
    if refusal.status is None:
        return (
            f"the cluster's TLS certificate could not be verified ({refusal.reason}): point extra.ca_certs of "
            f"connection {conn_id!r} at the CA that signed it (`scripts/elasticsearch.sh` writes its own as ca.crt)"
        )
    if refusal.status == 401:
        return (
            f"Elasticsearch refused the credentials of connection {conn_id!r} (401 {refusal.error_type}: "
            f"{refusal.reason}): fix its login and password, or its extra.api_key (a revoked or expired key answers "
            "the same)"
        )
    return (
        f"the user of connection {conn_id!r} lacks a privilege (403 {refusal.error_type}: {refusal.reason}): "
        f"{PRIVILEGES}"
    )
