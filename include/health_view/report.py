"""The task-health page as one self-contained HTML file, for people without a running Airflow UI.

    python -m include.health_view.report [--days 7 | --start 2026-03-01 [--end 2026-03-31]]
        [--dag-id D] [--run-id R] [--task-id T] [--map-index N] [--out FILE]

Same panels, same queries and same drawing as the page (`page.render_page`), over every DAG (a
command has no Airflow user to restrict). Writes FILE (default
$STATE_DIR/reports/task-health-<start>-<end>.html), prints its path; exit 2 with a sentence for a
wrong range. A cluster that is down still gives a report, which says so on every panel.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from include.airflow_compat import read_connections_from_metadata_db
from include.health_view.page import BadScope, ScopeRequest, render_page, scope_of
from include.health_view.sources import results
from include.state import state_dir


def default_path(start: datetime, end: datetime) -> Path:
    return state_dir() / "reports" / f"task-health-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.html"


def write_report(asked: ScopeRequest, out: Path | None = None) -> Path:
    now = datetime.now(UTC)
    scope = scope_of(asked, now)
    html = render_page(results(scope), scope, now, with_form=False)
    path = out or default_path(scope.start, scope.end)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    read_connections_from_metadata_db()  # like the API server: `elasticsearch_default` from the metadata DB
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start")
    parser.add_argument("--end")
    parser.add_argument("--days", type=float)
    parser.add_argument("--dag-id")
    parser.add_argument("--run-id")
    parser.add_argument("--task-id")
    parser.add_argument("--map-index", type=int)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    asked = ScopeRequest(args.start, args.end, args.days, args.dag_id, args.run_id, args.task_id, args.map_index)
    try:
        path = write_report(asked, args.out)
    except BadScope as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
