"""Which errors are a secured cluster refusing the client (credentials, TLS, privileges), and the
sentence each gives an operator; the shipper keeps those events and logs that sentence."""

from __future__ import annotations

import logging
import ssl

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig, TlsError
from elasticsearch import ApiError, ConnectionError

from include.delivery.refusals import Refusal, is_tls_failure, refusal_of, what_to_fix
from include.delivery.spool import Spool
from tests.unit.test_delivery_shipper import ScriptedCluster, action, shipper


@pytest.fixture(autouse=True, scope="module")
def airflow_logging_configured() -> None:
    """Airflow configures logging the first time redaction imports it, which drops the handler
    `caplog` added: let that happen before any test captures."""
    from include.redaction import redact

    redact("")


def api_error(status: int, error_type: str, reason: str) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("https", "localhost", 9200))
    return ApiError(error_type, meta, {"error": {"type": error_type, "reason": reason}, "status": status})


def untrusted_certificate() -> TlsError:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    cause.reason = "CERTIFICATE_VERIFY_FAILED"
    cause.verify_message = "unable to get local issuer certificate"
    err = TlsError("TLS failed", errors=(cause,))
    return err


def test_a_401_is_a_credentials_refusal_with_the_clusters_reason() -> None:
    refusal = refusal_of(api_error(401, "security_exception", "unable to authenticate user [w]"))
    assert refusal == Refusal(401, "security_exception", "unable to authenticate user [w]")
    sentence = what_to_fix(refusal, "es_writer")
    assert "credentials of connection 'es_writer'" in sentence and "extra.api_key" in sentence


def test_a_403_names_the_missing_privilege_and_the_role_it_needs() -> None:
    refusal = refusal_of(api_error(403, "security_exception", "action [indices:data/write/bulk] is unauthorized"))
    assert refusal is not None and refusal.status == 403
    sentence = what_to_fix(refusal, "elasticsearch_default")
    assert "lacks a privilege" in sentence and "create_doc" in sentence and "is unauthorized" in sentence


def test_an_untrusted_certificate_is_found_however_deep_the_ssl_error_sits() -> None:
    wrapped = ConnectionError("connection failed", errors=(untrusted_certificate(),))
    assert is_tls_failure(wrapped)
    refusal = refusal_of(wrapped)
    assert refusal == Refusal(None, "tls", "CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate")
    assert "extra.ca_certs of connection 'c'" in what_to_fix(refusal, "c")


@pytest.mark.parametrize(
    "err",
    [ConnectionError("refused"), api_error(400, "mapper_parsing_exception", "x"), api_error(503, "unavailable", "")],
)
def test_outages_and_bad_documents_are_not_refusals(err) -> None:
    assert refusal_of(err) is None


def test_a_refused_client_keeps_the_events_and_logs_what_to_fix_once(tmp_path, caplog) -> None:
    cluster = ScriptedCluster(api_error(401, "security_exception", "unable to authenticate user [w]"))
    ship = shipper(cluster, tmp_path, conn_id="es_writer")
    with caplog.at_level(logging.INFO, logger="include"):
        first = ship.ship([action(1)])
        second = ship.ship([action(2)])
    assert (first.spooled, second.spooled, first.dead_lettered) == (1, 1, 0)
    assert len(cluster.calls) == 1, "a 401 is not retried, and the breaker spools the next event straight away"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "refused the credentials of connection 'es_writer' (401" in errors[0]


def test_an_untrusted_certificate_is_not_retried(tmp_path) -> None:
    class TlsCluster(ScriptedCluster):
        def bulk(self, operations):
            self.calls.append([])
            raise untrusted_certificate()

    cluster = TlsCluster()
    assert shipper(cluster, tmp_path).ship([action(1)]).spooled == 1
    assert len(cluster.calls) == 1


def test_items_refused_for_a_privilege_are_spooled_and_named(tmp_path, caplog) -> None:
    class ForbiddenItems(ScriptedCluster):
        def bulk(self, operations):
            answer = super().bulk(operations)
            for item in answer["items"]:
                item["create"].update(
                    status=403, error={"type": "security_exception", "reason": "action [x] is unauthorized"}
                )
            return answer

    with caplog.at_level(logging.INFO, logger="include"):
        result = shipper(ForbiddenItems(), tmp_path).ship([action(1), action(2)])
    assert (result.spooled, result.dead_lettered) == (2, 0) and Spool(tmp_path).count() == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("lacks a privilege (403 security_exception: action [x] is unauthorized)" in e for e in errors)


def test_a_writer_that_leaves_templates_to_the_admin_never_asks_for_them(tmp_path) -> None:
    class NoTemplates(ScriptedCluster):
        def get_index_template(self, name, **_):
            raise AssertionError("a writer with manage_templates=False must not read templates")

        put_index_template = get_index_template

    assert shipper(NoTemplates(), tmp_path, manage_templates=False).ship([action(1)]).delivered == 1


def test_the_role_the_script_gives_its_writer_is_the_one_delivery_names() -> None:
    import re
    from pathlib import Path

    from include.delivery.refusals import ANOMALIES_PRIVILEGES, TASK_HEALTH_PRIVILEGES

    script = (Path(__file__).resolve().parents[2] / "scripts" / "elasticsearch.sh").read_text()
    granted = dict(re.findall(r"\{names: \$(health|rows), privileges: \[([^\]]*)\]\}", script))
    as_tuple = {
        name: tuple(p.strip().strip('"') for p in privileges.split(",")) for name, privileges in granted.items()
    }
    assert as_tuple == {"health": TASK_HEALTH_PRIVILEGES, "rows": ANOMALIES_PRIVILEGES}
