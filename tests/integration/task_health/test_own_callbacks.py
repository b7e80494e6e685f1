"""A DAG's own task and run callbacks still run next to task health's (a real `dag.test()` run),
and the task-health documents are written to the real Elasticsearch all the same."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.integration.task_health.dags import FAIL_MESSAGE, OWN_CALLBACKS_FILE, load_dag
from tests.support import state_of


@pytest.fixture(scope="module")
def run(task_health, airflow_db, tmp_path_factory):
    calls = tmp_path_factory.mktemp("own-callbacks") / "calls.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(OWN_CALLBACKS_FILE, str(calls))
        dag_run = load_dag("th_own_callbacks").test()
    own = [json.loads(line) for line in calls.read_text().splitlines()]
    docs = [d for d in task_health.documents() if d["airflow"]["run_id"] == dag_run.run_id]
    return dag_run, own, docs


def test_the_dags_own_callbacks_ran_once_each(run) -> None:
    dag_run, own, _ = run
    assert state_of(dag_run) == "failed"
    assert {c["run_id"] for c in own} == {dag_run.run_id}
    task_calls = Counter((c["kind"], c["task_id"]) for c in own if not c["kind"].startswith("run_"))
    assert task_calls == Counter(
        {("execute", "succeed"): 1, ("success", "succeed"): 1, ("execute", "fail"): 1, ("failure", "fail"): 1}
    )
    assert [c["kind"] for c in own if c["kind"].startswith("run_")] == ["run_failure"]


def test_task_health_documents_were_written_too(run) -> None:
    _, _, docs = run
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"]) for d in docs)
    assert got == Counter(
        {
            ("task_execution", "started", "succeed"): 1,
            ("task_execution", "completed", "succeed"): 1,
            ("task_execution", "started", "fail"): 1,
            ("task_execution", "failed", "fail"): 1,
            ("dag_run", "failed", None): 1,
        }
    )
    [failed] = [d for d in docs if d["status"] == "failed" and d["event"] == "task_execution"]
    assert (failed["error_type"], failed["error_message"]) == ("ValueError", FAIL_MESSAGE)
    [summary] = [d for d in docs if d["event"] == "dag_run"]
    assert (summary["dag_run"]["task_states"]["success"], summary["dag_run"]["task_states"]["failed"]) == (1, 1)
