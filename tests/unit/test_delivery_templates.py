"""Installed template priorities: overlapping patterns never share one, the specific one wins."""

from __future__ import annotations

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import AuthorizationException

from include.anomaly.index import anomalies_template
from include.delivery.templates import TemplateError, ensure_template, priority_for
from include.task_health.templates import airflow_logs_template, task_health_template


def test_a_longer_literal_prefix_gets_a_higher_priority() -> None:
    assert priority_for(200, ["th-prod-*"]) > priority_for(200, ["th-*"])
    assert priority_for(200, ["anomalies"]) == 200 + 10 * len("anomalies")


def overlap(p: str, q: str) -> bool:
    """Whether some index name matches both patterns (each a literal, optionally then `*`)."""
    a, b = p.rstrip("*"), q.rstrip("*")
    if p.endswith("*") and q.endswith("*"):
        return a.startswith(b) or b.startswith(a)
    if p.endswith("*"):
        return q.startswith(a)
    return p.startswith(b) if q.endswith("*") else p == q


def test_no_two_of_the_projects_overlapping_templates_share_a_priority() -> None:
    templates = [
        task_health_template("task-health"),
        task_health_template("task-health-prod"),
        task_health_template("airflow-logs"),  # a prefix that collides with the task-log pattern
        airflow_logs_template("airflow-logs"),
        airflow_logs_template("task-health-"),  # a log index named like task-health indices
        anomalies_template("task-health-anomalies"),
    ]
    overlapping = [
        (t, u)
        for i, t in enumerate(templates)
        for u in templates[i + 1 :]
        if any(overlap(p, q) for p in t.body["index_patterns"] for q in u.body["index_patterns"])
    ]
    assert len(overlapping) >= 4, "the case must hold overlapping pairs to be a test"
    clashes = [(t.name, u.name) for t, u in overlapping if t.body["priority"] == u.body["priority"]]
    assert clashes == []


def test_a_user_who_may_not_manage_templates_is_told_to_leave_them_to_the_admin() -> None:
    class Forbidden:
        def __init__(self) -> None:
            self.indices = self

        def get_index_template(self, name, **_):
            meta = ApiResponseMeta(403, "1.1", HttpHeaders(), 0.0, NodeConfig("https", "localhost", 9200))
            body = {"error": {"type": "security_exception", "reason": "action [indices:admin/index_template/get]"}}
            raise AuthorizationException("security_exception", meta, body)

    with pytest.raises(TemplateError, match=r"may not manage index template 'th'.*TASK_HEALTH_MANAGE_TEMPLATES=false"):
        ensure_template(Forbidden(), task_health_template("th"))
