"""The `task_health` plugin under a real scheduler: a DAG with no task-health line gets every
document from the task processes and the scheduler, and a state set in the REST API (as the
UI sets it) gets its document from the API server."""

from __future__ import annotations

import time
from collections import Counter

from tests.e2e.live import documents_of_run
from tests.integration.task_health.dags import PLAIN_DOCUMENTS


def test_a_dag_with_no_task_health_line_and_states_set_through_the_api(live_airflow, es) -> None:
    run_id = live_airflow.trigger("th_plain")
    assert live_airflow.wait_for_run("th_plain", run_id) == "failed"
    docs = documents_of_run(es, run_id, expected=sum(PLAIN_DOCUMENTS.values()))
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    assert got == PLAIN_DOCUMENTS

    for task_id, new_state in (("fail", "success"), ("succeed", "failed")):
        live_airflow.api(
            "PATCH", f"/dags/th_plain/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": new_state}
        )
    deadline = time.monotonic() + 30
    while True:
        marked = [d for d in documents_of_run(es, run_id, expected=0) if d["details"].get("state_set_outside_the_task")]
        if len(marked) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(1)
    by_task = {d["airflow"]["task_id"]: d for d in marked}
    assert (by_task["fail"]["status"], by_task["fail"]["error_type"]) == ("completed", None)
    assert (by_task["succeed"]["status"], by_task["succeed"]["error_type"]) == ("failed", "MarkedFailed")
    assert by_task["succeed"]["response_time"] > 0 and by_task["succeed"]["airflow"]["ti_id"]


def test_a_task_killed_on_its_last_try_gets_its_terminal_document(live_airflow, es) -> None:
    """SIGKILL leaves `started` as the task's last word; the reconciler, run by the scheduler
    when the run ends, writes the `failed` document Airflow's state implies."""
    run_id = live_airflow.trigger("th_killed")
    assert live_airflow.wait_for_run("th_killed", run_id) == "failed"
    ended = time.monotonic()
    deadline = ended + 60
    while True:
        docs = documents_of_run(es, run_id, expected=0)
        terminal = [d for d in docs if d["event"] == "task_execution" and d["status"] != "started"]
        if terminal or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [d["status"] for d in docs if d["event"] == "task_execution" and d["status"] == "started"] == ["started"]
    [doc] = terminal
    assert (doc["status"], doc["error_type"], doc["details"]["reconciled"]) == (
        "failed",
        "TaskDiedWithoutReporting",
        True,
    )
    assert doc["response_time"] is not None and doc["airflow"]["try_number"] == 1
