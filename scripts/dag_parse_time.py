"""Measure how long Airflow's DAG processor spends parsing one DAG file, in a fresh interpreter.

Airflow itself (`airflow`, `airflow.sdk`, the DagBag machinery) is imported and warmed up on
a trivial DAG first, so its own import cost is not counted; every import the measured file
adds is. The figure is the DagBag's own per-file duration, what `airflow dags report` shows.

Usage: python -m scripts.dag_parse_time dags/some_dag.py   → prints one JSON object
"""

from __future__ import annotations

import json
import sys
import tempfile
import textwrap
from pathlib import Path

WARM_UP_DAG = textwrap.dedent(
    """
    from airflow.sdk import dag, task

    @dag(schedule=None, tags=["warm-up"])
    def warm_up():
        @task
        def noop():
            pass

        noop()

    warm_up()
    """
)


def parse_seconds(dag_file: Path) -> dict:
    from airflow.dag_processing.dagbag import DagBag

    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm_up_dag.py"
        warm.write_text(WARM_UP_DAG)
        DagBag(dag_folder=str(warm))
    bag = DagBag(dag_folder=str(dag_file))
    stats = bag.dagbag_stats  # one entry: the bag was filled from this single file
    if len(stats) != 1:
        raise SystemExit(f"{dag_file}: expected one parse record, DagBag has {len(stats)}")
    return {
        "file": str(dag_file),
        "parse_s": stats[0].duration.total_seconds(),
        "dags": stats[0].dag_num,
        "import_errors": {Path(k).name: v for k, v in bag.import_errors.items()},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(parse_seconds(Path(argv[0]).resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
