"""The layering README's layout section draws: no unit imports one above it or beside it."""

from __future__ import annotations

from pathlib import Path

from scripts.import_graph import imports, violations

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_project_imports_only_downwards() -> None:
    edges = imports(PROJECT_ROOT)
    assert {"include.delivery", "include.task_health", "include.anomaly", "dags"} <= set(edges)
    assert "include.delivery" in edges["include.anomaly"], "detection ships through the delivery layer"
    assert violations(edges) == []


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_an_import_inside_a_function_that_goes_up_or_sideways_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "include/delivery/shipper.py", "def f():\n    from include.task_health import emitter\n")
    _write(tmp_path, "include/kibana/x.py", "from include.stack import checks\n")
    _write(tmp_path, "include/anomaly/y.py", "from include import airflow_compat\nimport include.delivery.spool\n")
    _write(tmp_path, "include/newpkg/z.py", "")
    _write(tmp_path, "dags/d.py", "from include.newpkg import z\n")
    assert imports(tmp_path)["include.anomaly"] == {"include.airflow_compat", "include.delivery"}
    assert violations(imports(tmp_path)) == [
        "dags -> include.newpkg: add the unknown unit to a layer",
        "include.delivery (layer 2) imports include.task_health (layer 3)",
        "include.kibana (layer 5) imports include.stack (layer 5)",
    ]
