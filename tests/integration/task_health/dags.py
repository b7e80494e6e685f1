"""DAGs used by the task-health tests (not in dags/: they fail on purpose).

`tests/test_dags/` instantiates them for the `test-dags` bundle (tests/conftest.py), because
`dag.test()` runs only DAGs that a configured bundle holds; tests load them with `load_dag`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, dag, task

from include.task_health.callbacks import with_task_health
from include.task_health.operator import ModelExecutionOperator, ModelRun

TEST_DAGS = Path(__file__).resolve().parents[2] / "test_dags"
DEFAULT_ARGS = {"owner": "tests", "retries": 0, "retry_delay": timedelta(0)}


class ScoreOperator(ModelExecutionOperator):
    """A model step with known figures, so the documents' details can be checked exactly."""

    def __init__(self, *, shard: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shard = shard

    def run_model(self, context: Any) -> ModelRun:
        return ModelRun(
            model_version="7",
            anomalies_count=2,
            successful_predictions=10,
            failed_predictions=1,
            registered_model_name="th-test-model",
        )


@task
def succeed() -> int:
    return 1


FAIL_MESSAGE = "input partition is empty: landing/hourly/date=2026-01-01/a.csv"


@task
def fail() -> None:
    raise ValueError(FAIL_MESSAGE)


@task(retries=1)
def flaky(**context: Any) -> str:
    if context["ti"].try_number < 2:
        raise RuntimeError("transient failure on the first try")
    return "ok"


def lifecycle_dag(dag_id: str) -> DAG:
    """One task succeeds, one fails, one fails once then succeeds on retry, one runs a model."""

    @dag(dag_id=dag_id, schedule=None, tags=["test"], **with_task_health(DEFAULT_ARGS))
    def lifecycle() -> None:
        succeed()
        fail()
        flaky()
        ScoreOperator(task_id="score")

    return lifecycle()


def plain_dag(dag_id: str) -> DAG:
    """No task-health line at all: the plugin's listener alone writes its documents."""

    @dag(dag_id=dag_id, schedule=None, tags=["test"], default_args=DEFAULT_ARGS)
    def plain() -> None:
        @task
        def skip() -> None:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("nothing to do")

        succeed()
        fail()
        flaky()
        skip()

    return plain()


# The documents of the shared tasks succeed, fail, flaky: (event, status, task_id, try_number) -> count.
SHARED_TASK_DOCUMENTS = Counter(
    {
        ("task_execution", "started", "succeed", 1): 1,
        ("task_execution", "completed", "succeed", 1): 1,
        ("task_execution", "started", "fail", 1): 1,
        ("task_execution", "failed", "fail", 1): 1,
        ("task_execution", "started", "flaky", 1): 1,
        ("task_execution", "up_for_retry", "flaky", 1): 1,
        ("task_execution", "started", "flaky", 2): 1,
        ("task_execution", "completed", "flaky", 2): 1,
    }
)
# What one run of `plain_dag` leaves.
PLAIN_DOCUMENTS = SHARED_TASK_DOCUMENTS + Counter(
    {
        ("task_execution", "started", "skip", 1): 1,
        ("task_execution", "skipped", "skip", 1): 1,
        ("dag_run", "failed", None, 1): 1,
    }
)


OOM_CGROUP_VARIABLE = "TH_TEST_OOM_CGROUP"  # a memory cgroup the e2e test created with a small limit
KILL_RETRY_DELAY = timedelta(seconds=90)  # long enough for the sweep to be what writes the document


def killed_dag(dag_id: str) -> DAG:
    """Tasks that end without a word, each in its own way (live scheduler only): SIGKILL on the
    last try, SIGKILL on a first try with a retry to come, the kernel's OOM killer in a memory
    cgroup ($TH_TEST_OOM_CGROUP), and a supervisor SIGKILLed under its task, which hangs."""

    @dag(dag_id=dag_id, schedule=None, tags=["test"], default_args=DEFAULT_ARGS)
    def killed() -> None:
        import os
        import signal

        @task
        def die() -> None:
            os.kill(os.getpid(), signal.SIGKILL)

        @task(retries=1, retry_delay=KILL_RETRY_DELAY)
        def die_then_recover(**context: Any) -> str:
            if context["ti"].try_number < 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return "recovered"

        @task
        def out_of_memory() -> None:
            Path(os.environ[OOM_CGROUP_VARIABLE], "cgroup.procs").write_text(str(os.getpid()))
            hog = bytearray(1 << 30)
            for page in range(0, len(hog), 4096):  # touch every page: the memory is really used
                hog[page] = 1

        @task
        def lose_supervisor() -> None:
            import time

            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(600)

        die()
        die_then_recover()
        out_of_memory()
        lose_supervisor()

    return killed()


class SlowScoreOperator(ScoreOperator):
    def run_model(self, context: Any) -> ModelRun:
        import time

        time.sleep(30)
        return super().run_model(context)


# The documents one run of `lifecycle_dag` emits.
LIFECYCLE_DOCUMENTS = SHARED_TASK_DOCUMENTS + Counter(
    {
        ("task_execution", "started", "score", 1): 1,
        ("task_execution", "completed", "score", 1): 1,
        ("model_execution", "started", "score", 1): 1,
        ("model_execution", "completed", "score", 1): 1,
        ("dag_run", "failed", None, 1): 1,  # a run's try_number: 1 + times it was cleared
    }
)


def timeout_dag(dag_id: str) -> DAG:
    """A model step killed by its execution_timeout (a BaseException in the task SDK)."""

    @dag(dag_id=dag_id, schedule=None, tags=["test"], **with_task_health(DEFAULT_ARGS))
    def timeout() -> None:
        SlowScoreOperator(task_id="slow_score", execution_timeout=timedelta(seconds=1))

    return timeout()


def many_events_dag(dag_id: str, shards: int) -> DAG:
    """`shards` mapped model tasks: 4 task-health events each, plus the run summary."""

    @dag(dag_id=dag_id, schedule=None, tags=["test"], **with_task_health(DEFAULT_ARGS))
    def many_events() -> None:
        ScoreOperator.partial(task_id="score").expand(shard=list(range(shards)))

    return many_events()


def load_dag(dag_id: str) -> DAG:
    """The DAG as the `test-dags` bundle parses it (what dag.test() will find)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(TEST_DAGS))
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


def secret_dag(dag_id: str) -> DAG:
    """A task whose error message quotes the connection's credentials (a realistic leak)."""

    @dag(dag_id=dag_id, schedule=None, tags=["test"], **with_task_health(DEFAULT_ARGS))
    def secret() -> None:
        @task
        def leak() -> None:
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection("elasticsearch_default")
            raise PermissionError(f"cluster refused {conn.login}:{conn.password} at {conn.host}")

        leak()

    return secret()


OWN_CALLBACKS_FILE = "TH_TEST_OWN_CALLBACKS_FILE"


def record(kind: str) -> Callable[[Any], None]:
    """A DAG's own callback: one JSON line per call in the file $TH_TEST_OWN_CALLBACKS_FILE names."""

    def callback(context: Any) -> None:
        ti = context.get("ti")
        line = {"kind": kind, "run_id": context["run_id"], "task_id": getattr(ti, "task_id", None)}
        with open(os.environ[OWN_CALLBACKS_FILE], "a") as out:
            out.write(json.dumps(line) + "\n")

    return callback


def own_callbacks_dag(dag_id: str) -> DAG:
    """A DAG with callbacks of its own, task and run ones, single and in lists, next to task health."""
    default_args = {
        **DEFAULT_ARGS,
        "on_execute_callback": record("execute"),
        "on_success_callback": [record("success")],
        "on_failure_callback": record("failure"),
    }

    @dag(
        dag_id=dag_id,
        schedule=None,
        tags=["test"],
        **with_task_health(
            default_args, on_success_callback=record("run_success"), on_failure_callback=[record("run_failure")]
        ),
    )
    def own_callbacks() -> None:
        succeed()
        fail()

    return own_callbacks()
