"""Kibana dashboards as code: `python -m include.kibana {build|validate|import}`.

- build     write include/kibana/saved_objects.ndjson (data views + dashboards, default index names)
- validate  check an NDJSON file offline against the index templates (default: the built file)
- import    build for this deployment's index names (TASK_HEALTH_INDEX_PREFIX, ANOMALIES_INDEX,
            AIRFLOW_TASK_LOGS_INDEX),
            validate, and import into Kibana with overwrite (see importer.py for where and how)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from include.kibana.dashboards import saved_objects, to_ndjson
from include.kibana.validate import parse_ndjson, project_fields_by_view, validate

BUILT_FILE = Path(__file__).resolve().parent / "saved_objects.ndjson"


def _problems(text: str) -> list[str]:
    objects, problems = parse_ndjson(text)
    return problems + validate(objects, project_fields_by_view())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.kibana", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "validate", "import"])
    parser.add_argument("--file", type=Path, default=BUILT_FILE, help="NDJSON file (build: output, validate: input)")
    args = parser.parse_args(argv)
    if args.command == "build":
        args.file.write_text(to_ndjson(saved_objects()))
        print(f"wrote {args.file}")
        return 0
    if args.command == "validate":
        problems = _problems(args.file.read_text())
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{args.file}: {'valid' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    return _import()


def _import() -> int:
    from include.airflow_compat import read_connections_from_metadata_db
    from include.anomaly.index import anomalies_index
    from include.kibana.importer import KibanaImportError, import_saved_objects, kibana_target
    from include.task_health.settings import TaskHealthSettings

    read_connections_from_metadata_db()  # like the scheduler: the kibana_default connection
    settings = TaskHealthSettings.from_env()
    text = to_ndjson(saved_objects(settings.index_prefix, anomalies_index(), settings.task_logs_index))
    problems = _problems(text)
    if problems:
        print("not importing: the saved objects are invalid:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    try:
        target = kibana_target()
        result = import_saved_objects(target, text)
    except KibanaImportError as err:
        print(f"kibana import failed: {err}", file=sys.stderr)
        return 1
    for error in result.errors:
        print(f"kibana import: {error}", file=sys.stderr)
    counts = f"{result.success_count} object(s) imported, {len(result.errors)} failed"
    print(f"kibana import into {target.display_url()}: {counts}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
