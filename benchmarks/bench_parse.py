"""DAG parse time: each file in `dags/`, in a fresh interpreter, against the same pipeline DAG
written the naive way, with its heavy libraries imported at the top of the file.

The figure is the DagBag's own per-file duration (`scripts/dag_parse_time.py`: Airflow is
imported and warmed up first, so only what the file itself costs is counted), the median of
`--repeats` fresh interpreters per file. The baseline is `dags/hourly_anomaly_detection.py`
with the imports its tasks defer (pandas, scikit-learn, MLflow, the pipeline modules, the
Elasticsearch client) moved to the top, as a DAG file written without care would have them.
The DAG processor re-parses every file every `min_file_process_interval`, so this is paid on
every parse, not once. Target: every file <= 0.25 s. Prints one JSON object as its last line.

Usage: . scripts/env.sh && python -m benchmarks.bench_parse [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PIPELINE_DAG = PROJECT_ROOT / "dags" / "hourly_anomaly_detection.py"
TARGET_S = 0.25
HEAVY_IMPORTS = """\
import mlflow
import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch
from sklearn.ensemble import IsolationForest

from include.anomaly import evaluation, pipeline, registry
"""


def heavy_variant(directory: Path) -> Path:
    """The pipeline DAG with the heavy imports at the top of the file (same DAG otherwise)."""
    source = PIPELINE_DAG.read_text()
    marker = "from __future__ import annotations\n"
    if marker not in source:
        raise SystemExit(f"{PIPELINE_DAG}: expected {marker.strip()!r} to place the imports after")
    path = directory / "hourly_anomaly_detection_heavy.py"
    path.write_text(source.replace(marker, marker + "\n" + HEAVY_IMPORTS, 1))
    return path


def parse_once(dag_file: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.dag_parse_time", str(dag_file)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["import_errors"] or result["dags"] < 1:
        raise SystemExit(f"{dag_file} did not parse: {result}")
    return result["parse_s"]


def median_parse(dag_file: Path, repeats: int) -> dict[str, float]:
    samples = [parse_once(dag_file) for _ in range(repeats)]
    return {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    files = {p.name: median_parse(p, args.repeats) for p in sorted((PROJECT_ROOT / "dags").glob("*.py"))}
    with tempfile.TemporaryDirectory() as tmp:
        heavy = median_parse(heavy_variant(Path(tmp)), args.repeats)
    thin = files[PIPELINE_DAG.name]["median_s"]
    worst = max(f["median_s"] for f in files.values())
    for name, figures in {**files, "baseline: pipeline DAG with heavy top-level imports": heavy}.items():
        print(f"{name:<58} median {figures['median_s'] * 1000:8.1f} ms  (min {figures['min_s'] * 1000:.1f})")
    print(f"pipeline DAG: {heavy['median_s'] / thin:.1f}x faster to parse than with heavy top-level imports")
    print(
        json.dumps(
            {
                "repeats": args.repeats,
                "files": files,
                "heavy_baseline_s": heavy["median_s"],
                "max_parse_s": worst,
                "speedup_vs_heavy": heavy["median_s"] / thin,
                "target_s": TARGET_S,
                "target_met": worst <= TARGET_S,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
