"""Every DAG file imports cleanly, declares its owner, tags and docs, retries every task, and
parses fast in a fresh interpreter (what the DAG processor pays on every parse loop)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
MAX_PARSE_S = 0.5


def test_there_are_dag_files() -> None:
    assert DAG_FILES, f"no DAG files found in {DAGS_DIR}"


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_without_errors(dag_bag, dag_file: Path) -> None:
    errors = {Path(k).name: v for k, v in dag_bag.import_errors.items()}
    assert dag_file.name not in errors, f"{dag_file.name} failed to import:\n{errors[dag_file.name]}"
    dags = [d for d in dag_bag.dags.values() if Path(d.fileloc).name == dag_file.name]
    assert dags, f"{dag_file.name} defines no DAG"


def _dags(dag_bag):
    return sorted(dag_bag.dags.values(), key=lambda d: d.dag_id)


def test_every_dag_has_tags_owner_and_docs(dag_bag) -> None:
    problems = []
    for dag in _dags(dag_bag):
        if not dag.tags:
            problems.append(f"{dag.dag_id}: no tags")
        if not dag.doc_md or not dag.doc_md.strip():
            problems.append(f"{dag.dag_id}: no doc_md")
        for task in dag.tasks:
            if not task.owner or task.owner == "airflow":
                problems.append(f"{dag.dag_id}.{task.task_id}: owner is {task.owner!r} (set one in default_args)")
    assert not problems, "\n".join(problems)


def test_the_anomalies_index_has_the_one_writer_dag_the_page_checks_access_to(dag_bag) -> None:
    """The anomalies rows carry no DAG id: the task-health page lets a user see them only with
    read access to `WRITER_DAG_ID`, so that must be the DAG whose `persist` writes them, and the
    only DAG file that calls the pipeline's `persist`."""
    from include.anomaly.index import WRITER_DAG_ID

    assert "persist" in dag_bag.dags[WRITER_DAG_ID].task_ids
    writers = [f.name for f in DAG_FILES if "pipeline.persist(" in f.read_text()]
    assert writers == [f"{WRITER_DAG_ID}.py"], writers


def test_every_task_retries(dag_bag) -> None:
    no_retry = [
        f"{d.dag_id}.{t.task_id} (retries={t.retries})" for d in _dags(dag_bag) for t in d.tasks if t.retries < 1
    ]
    assert not no_retry, "tasks without retries: " + ", ".join(no_retry)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_fast_in_a_fresh_interpreter(dag_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.dag_parse_time", str(dag_file)],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
    )
    assert result.returncode == 0, f"{dag_file.name}: parse-time probe failed:\n{result.stderr[-3000:]}"
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{dag_file.name}: parsed in {measured['parse_s']:.3f} s")
    assert not measured["import_errors"], f"{dag_file.name}: {measured['import_errors']}"
    assert measured["parse_s"] < MAX_PARSE_S, (
        f"{dag_file.name} takes {measured['parse_s']:.3f} s to parse (limit {MAX_PARSE_S} s): "
        "move heavy imports and I/O into task bodies"
    )
