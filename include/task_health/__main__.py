"""Task-health commands: `python -m include.task_health {install-templates|replay|status}`.

- install-templates  put the project's index templates into the cluster (idempotent): task
                     health, anomalies, and Airflow's task logs (AIRFLOW_TASK_LOGS_INDEX)
- replay             re-send every spooled event and detection row (same ids: nothing is duplicated)
- status             spooled / dead-lettered counts and where the files are, per index template
The cluster is the Airflow connection in TASK_HEALTH_CONN_ID (default elasticsearch_default).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict

from include.task_health.emitter import anomalies_shipper_for, shipper_for
from include.task_health.settings import TaskHealthSettings
from include.task_health.shipper import describe


def install_task_logs_template(settings: TaskHealthSettings) -> bool:
    """The template for Airflow's own task logs (written by the provider, not by a shipper)."""
    from include.task_health.es_client import TaskHealthElasticsearchHook
    from include.task_health.templates import airflow_logs_template, ensure_template

    client = TaskHealthElasticsearchHook(settings.conn_id, request_timeout=settings.request_timeout_s * 5).client
    return ensure_template(client, airflow_logs_template(settings.task_logs_index))


def main(argv: list[str]) -> int:
    # An operator's command on a machine with the metadata DB, like the scheduler: let the SDK
    # read connections from the DB too (outside a task it reads only env variables otherwise).
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    parser = argparse.ArgumentParser(prog="python -m include.task_health", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install-templates", "replay", "status"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = TaskHealthSettings.from_env()
    # Task-health documents and detection rows each have a shipper (template + spool): every
    # command acts on both, so no spooled row is left behind.
    shippers = {s.template.name: s for s in (shipper_for(settings), anomalies_shipper_for(settings))}
    if args.command == "install-templates":
        try:
            written = [name for name, s in shippers.items() if s.install_template()]
            if install_task_logs_template(settings):
                written.append(settings.task_logs_index)
        except Exception as err:
            problem = f"cannot install the index templates through connection {settings.conn_id!r}"
            print(f"{problem}: {describe(err)}", file=sys.stderr)
            return 1
        print(json.dumps({"written": written}))
    elif args.command == "replay":
        report = {name: asdict(s.replay()) | {"still_spooled": s.spool.count()} for name, s in shippers.items()}
        print(json.dumps(report))
        return 0 if all(r["still_spooled"] == 0 for r in report.values()) else 1
    else:
        report = {
            name: {
                "spool": str(s.spool.path),
                "spooled": s.spool.count(),
                "dead_letter": str(s.spool.deadletter_path),
                "dead_lettered": s.spool.count(s.spool.deadletter_path),
            }
            for name, s in shippers.items()
        }
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
