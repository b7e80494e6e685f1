"""The `task_health` plugin under a real scheduler: a DAG with no task-health line gets every
document from the task processes and the scheduler, and a state set in the REST API (as the
UI sets it) gets its document from the API server."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

from tests.e2e.live import documents_of_run
from tests.integration.task_health.dags import PLAIN_DOCUMENTS


def test_a_dag_with_no_task_health_line_and_states_set_through_the_api(live_airflow, live_es) -> None:
    run_id = live_airflow.trigger("th_plain")
    assert live_airflow.wait_for_run("th_plain", run_id) == "failed"
    docs = documents_of_run(live_es, run_id, expected=sum(PLAIN_DOCUMENTS.values()))
    got = Counter((d["event"], d["status"], d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs)
    assert got == PLAIN_DOCUMENTS

    for task_id, new_state in (("fail", "success"), ("succeed", "failed")):
        live_airflow.api(
            "PATCH", f"/dags/th_plain/dagRuns/{run_id}/taskInstances/{task_id}", json={"new_state": new_state}
        )
    deadline = time.monotonic() + 30
    while True:
        marked = [
            d for d in documents_of_run(live_es, run_id, expected=0) if d["details"].get("state_set_outside_the_task")
        ]
        if len(marked) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(1)
    by_task = {d["airflow"]["task_id"]: d for d in marked}
    assert (by_task["fail"]["status"], by_task["fail"]["error_type"]) == ("completed", None)
    assert (by_task["succeed"]["status"], by_task["succeed"]["error_type"]) == ("failed", "MarkedFailed")
    assert by_task["succeed"]["response_time"] > 0 and by_task["succeed"]["airflow"]["ti_id"]


# What each task of th_killed leaves: (task_id, try_number) -> (terminal status, error_type).
KILLED_TRIES = {
    ("die", 1): ("failed", "TaskKilled"),
    ("die_then_recover", 1): ("up_for_retry", "TaskKilled"),
    ("die_then_recover", 2): ("completed", None),
    ("out_of_memory", 1): ("failed", "TaskKilled"),
    ("lose_supervisor", 1): ("failed", "HeartbeatTimeout"),
}


def test_tasks_killed_without_a_word_each_get_one_terminal_document(live_airflow, live_es, oom_cgroup) -> None:
    """SIGKILL on a last try and on a first try whose retry waits 90 s, the kernel's OOM killer,
    and a SIGKILLed supervisor: each try gets exactly one terminal document, within 60 s of
    Airflow knowing it ended (for the lost supervisor Airflow knows only once the heartbeat
    timeout, 45 s here, has passed); the first-try kill's document comes from the sweep, while
    its run is still waiting for the retry."""
    run_id = live_airflow.trigger("th_killed")
    seen: dict[tuple[str, int], tuple[float, str]] = {}  # try -> (when its document was seen, run state then)
    deadline = time.monotonic() + 240
    while len(seen) < len(KILLED_TRIES) and time.monotonic() < deadline:
        for doc in documents_of_run(live_es, run_id, expected=0):
            key = (doc["airflow"]["task_id"], doc["airflow"]["try_number"])
            if doc["event"] == "task_execution" and doc["status"] != "started" and key not in seen:
                state = live_airflow.api("GET", f"/dags/th_killed/dagRuns/{run_id}")["state"]
                seen[key] = (time.time(), state)
        time.sleep(1)
    assert live_airflow.wait_for_run("th_killed", run_id) == "failed"
    docs = [d for d in documents_of_run(live_es, run_id, expected=0) if d["event"] == "task_execution"]
    terminal = Counter((d["airflow"]["task_id"], d["airflow"]["try_number"]) for d in docs if d["status"] != "started")
    summary = sorted((d["airflow"]["task_id"], d["airflow"]["try_number"], d["status"], d["error_type"],
                      d["airflow"]["ti_id"], d["details"]) for d in docs)  # fmt: skip
    assert terminal == Counter(KILLED_TRIES.keys()), f"one terminal document per try, no more: {summary}"
    by_try = {(d["airflow"]["task_id"], d["airflow"]["try_number"]): d for d in docs if d["status"] != "started"}
    assert {key: (d["status"], d["error_type"]) for key, d in by_try.items()} == KILLED_TRIES
    delays = {}
    for key, doc in by_try.items():
        if doc["details"].get("reconciled"):
            ended = datetime.fromisoformat(doc["@timestamp"]).timestamp()
            delays[key] = round(seen[key][0] - ended, 1)
            assert doc["response_time"] is not None and doc["airflow"]["run_type"] == "manual", key
    print(f"seconds from the end Airflow recorded to the reconciled document: {delays}")
    assert set(delays) == {key for key, (_, error) in KILLED_TRIES.items() if error}
    assert max(delays.values()) <= 60, delays
    assert seen[("die_then_recover", 1)][1] == "running", "written by the sweep, before the run ended"
