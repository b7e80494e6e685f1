"""Delivery commands: `python -m include.stack.delivery {install-templates|replay|status}`.

- install-templates  put the project's index templates into the cluster (idempotent): task
                     health, anomalies, and Airflow's task logs (AIRFLOW_TASK_LOGS_INDEX)
- replay             re-send every spooled event and detection row (same ids: nothing is duplicated);
                     `replay --dead-letters` re-sends the dead letters, keeping those rejected again
- status             spooled / dead-lettered counts and where the files are, per index template,
                     whether the spool can be written and what keeps delivery from working (a
                     refused index template); exit 1 when either is wrong
The cluster is the Airflow connection in TASK_HEALTH_CONN_ID (default elasticsearch_default).
Here, above both producers, because every command acts on every destination (task-health
documents and detection rows), so no spooled row is left behind.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict

from include.airflow_compat import read_connections_from_metadata_db
from include.anomaly.index import anomalies_shipper
from include.delivery.shipper import describe
from include.delivery.shippers import client
from include.delivery.templates import ensure_template
from include.task_health.emitter import task_health_shipper
from include.task_health.settings import TaskHealthSettings
from include.task_health.templates import airflow_logs_template


def install_task_logs_template(settings: TaskHealthSettings) -> bool:
    """The template for Airflow's own task logs (written by the provider, not by a shipper)."""
    es = client(settings.delivery, request_timeout_s=settings.delivery.request_timeout_s * 5)
    return ensure_template(es, airflow_logs_template(settings.task_logs_index))


def main(argv: list[str]) -> int:
    # An operator's command on a machine with the metadata DB, like the scheduler.
    read_connections_from_metadata_db()
    parser = argparse.ArgumentParser(prog="python -m include.stack.delivery", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install-templates", "replay", "status"])
    parser.add_argument(
        "--dead-letters",
        action="store_true",
        help="with replay: re-send the dead letters instead (once their cause is fixed); those rejected again stay",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = TaskHealthSettings.from_env()
    shippers = {s.template.name: s for s in (task_health_shipper(settings), anomalies_shipper(settings.delivery))}
    if args.command == "install-templates":
        try:
            written = [name for name, s in shippers.items() if s.install_template()]
            if install_task_logs_template(settings):
                written.append(settings.task_logs_index)
        except Exception as err:
            problem = f"cannot install the index templates through connection {settings.delivery.conn_id!r}"
            print(f"{problem}: {describe(err)}", file=sys.stderr)
            return 1
        print(json.dumps({"written": written}))
    elif args.command == "replay" and args.dead_letters:
        report = {
            name: asdict(s.replay_dead_letters()) | {"still_dead_lettered": s.spool.count(s.spool.deadletter_path)}
            for name, s in shippers.items()
        }
        print(json.dumps(report))
        return 0 if all(r["still_dead_lettered"] == 0 for r in report.values()) else 1
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
                "spool_unwritable": s.spool.unwritable_because(),
                "problems": s.spool.problems(),
            }
            for name, s in shippers.items()
        }
        print(json.dumps(report))
        return 0 if all(r["spool_unwritable"] is None and not r["problems"] for r in report.values()) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
