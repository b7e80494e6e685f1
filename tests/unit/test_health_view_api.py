"""The page's access checks and parameters (`include/health_view/api.py`), against an auth
manager that answers as Airflow's do: the DAGs a user may read, and per DAG whether its task
instances too (the live 401/403 through a real API server: tests/e2e/test_health_view_live.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import HTTPException

from include.health_view.api import UNFILLED_MAP_INDEX, asked, readable_dags, readable_scope
from include.health_view.page import ScopeRequest


class AuthManager:
    """May read `dags`; their task instances only for `with_task_instances`."""

    def __init__(self, dags: set[str], with_task_instances: set[str]) -> None:
        self.dags, self.with_task_instances, self.asked = dags, with_task_instances, []

    def get_authorized_dag_ids(self, *, user: Any, method: str) -> set[str]:
        assert method == "GET"
        return set(self.dags)

    def is_authorized_dag(self, *, method: str, access_entity: Any, details: Any, user: Any) -> bool:
        self.asked.append((method, getattr(access_entity, "value", access_entity), details.id))
        return details.id in self.with_task_instances


def test_a_dag_counts_as_readable_only_with_its_task_instances() -> None:
    manager = AuthManager({"a", "b"}, with_task_instances={"a"})
    assert readable_dags(manager, user=object()) == {"a"}
    assert {(m, entity) for m, entity, _ in manager.asked} == {("GET", "TASK_INSTANCE")}


def test_the_scope_is_kept_to_what_the_user_may_read_or_refused() -> None:
    manager = AuthManager({"a", "b"}, with_task_instances={"a", "b"})
    scope = readable_scope(ScopeRequest(days=1), object(), manager)
    assert scope.readable_dags == {"a", "b"}
    with pytest.raises(HTTPException) as other:
        readable_scope(ScopeRequest(dag_id="c"), object(), manager)
    assert other.value.status_code == 403 and "c" in other.value.detail
    with pytest.raises(HTTPException) as nothing:
        readable_scope(ScopeRequest(), object(), AuthManager({"a"}, with_task_instances=set()))
    assert (nothing.value.status_code, nothing.value.detail) == (403, "you may not read any DAG")
    with pytest.raises(HTTPException) as wrong:
        readable_scope(ScopeRequest(days=-1), object(), manager)
    assert wrong.value.status_code == 400 and "days must be more than 0" in wrong.value.detail


def test_parameters_are_numbers_or_a_sentence_and_only_the_unfilled_placeholder_is_no_filter() -> None:
    user = object()
    request, caller = asked(user, days="2.5", map_index="3")
    assert (request.days, request.map_index, caller) == (2.5, 3, user)
    assert asked(user, map_index=UNFILLED_MAP_INDEX)[0].map_index is None
    for name, text in (("map_index", "{3}"), ("map_index", "x"), ("days", "a week")):
        with pytest.raises(HTTPException) as raised:
            asked(user, **{name: text})
        assert raised.value.status_code == 400 and f"{name} must be a number" in raised.value.detail
