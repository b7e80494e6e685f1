"""The project's dependency picture, drawn from its imports, and the layering it must keep.

Units are the packages under `include/` (and its top-level modules), `dags` and `plugins`.
Each may import only units of a lower layer; units sharing a layer stay independent:

  7  dags, plugins           what Airflow loads
  6  include.health_view     the dashboards' panels as data, for a page or a report
  5  include.kibana, include.stack   reporting and the commands that span producers
  4  include.anomaly         the detection pipeline (`pipeline.py`, `operators.py`: its Airflow adapter)
  3  include.task_health     task-health documents, callbacks, operator
  2  include.delivery        Elasticsearch client, shipper, spool, templates
  1  include.redaction       secrets masked out of whatever leaves a process
  0  include.state, include.airflow_compat   where state lives; Airflow's private internals

Every import counts, also those inside functions and under TYPE_CHECKING.
Usage: python scripts/import_graph.py [--root DIR]  (prints the edges; exit 1 on an upward import)
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

LAYERS = (
    ("include.state", "include.airflow_compat"),
    ("include.redaction",),
    ("include.delivery",),
    ("include.task_health",),
    ("include.anomaly",),
    ("include.kibana", "include.stack"),
    ("include.health_view",),
    ("dags", "plugins"),
)
LAYER_OF = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def unit_of(module: str) -> str | None:
    """`include.anomaly.pipeline` → `include.anomaly`; `dags.x` → `dags`; others: None."""
    parts = module.split(".")
    if parts[0] in {"dags", "plugins"}:
        return parts[0]
    if parts[0] == "include" and len(parts) > 1:
        return f"include.{parts[1]}"
    return None


def _module_name(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def imports(root: Path) -> dict[str, set[str]]:
    """{unit: units it imports} over every Python file of the units."""
    edges: dict[str, set[str]] = defaultdict(set)
    for top in ("include", "dags", "plugins"):
        for path in sorted((root / top).rglob("*.py")):
            source = unit_of(_module_name(root, path))
            if source is None:
                continue
            edges[source]
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for name in names:
                    target = unit_of(name)
                    if target and target != source:
                        edges[source].add(target)
    return dict(edges)


def violations(edges: dict[str, set[str]]) -> list[str]:
    """Each import that goes up or sideways (or involves a unit no layer names), in words."""
    found = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            if source not in LAYER_OF or target not in LAYER_OF:
                found.append(f"{source} -> {target}: add the unknown unit to a layer")
            elif LAYER_OF[target] >= LAYER_OF[source]:
                found.append(f"{source} (layer {LAYER_OF[source]}) imports {target} (layer {LAYER_OF[target]})")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    edges = imports(args.root)
    for source in sorted(edges, key=lambda u: (-LAYER_OF.get(u, -1), u)):
        print(f"{source:<22} -> {', '.join(sorted(edges[source])) or '(nothing)'}")
    found = violations(edges)
    for problem in found:
        print(f"upward import: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
