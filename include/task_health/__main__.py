"""Task-health commands: `python -m include.task_health {install-templates|replay|status}`.

- install-templates  put the project's index templates into the cluster (idempotent)
- replay             re-send every spooled event (same ids: nothing is duplicated)
- status             spooled / dead-lettered counts and where the files are
The cluster is the Airflow connection in TASK_HEALTH_CONN_ID (default elasticsearch_default).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict

from include.task_health.emitter import anomalies_shipper_for, current_shipper
from include.task_health.settings import TaskHealthSettings
from include.task_health.shipper import describe


def main(argv: list[str]) -> int:
    # An operator's command on a machine with the metadata DB, like the scheduler: let the SDK
    # read connections from the DB too (outside a task it reads only env variables otherwise).
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    parser = argparse.ArgumentParser(prog="python -m include.task_health", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install-templates", "replay", "status"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    shipper = current_shipper()
    if args.command == "install-templates":
        settings = TaskHealthSettings.from_env()
        try:
            written = [s.template.name for s in (shipper, anomalies_shipper_for(settings)) if s.install_template()]
        except Exception as err:
            print(
                f"cannot install the index templates through connection {settings.conn_id!r}: {describe(err)}",
                file=sys.stderr,
            )
            return 1
        print(json.dumps({"written": written}))
    elif args.command == "replay":
        result = shipper.replay()
        print(json.dumps(asdict(result) | {"still_spooled": shipper.spool.count()}))
        return 0 if shipper.spool.count() == 0 else 1
    else:
        spool = shipper.spool
        print(
            json.dumps(
                {
                    "spool": str(spool.path),
                    "spooled": spool.count(),
                    "dead_letter": str(spool.deadletter_path),
                    "dead_lettered": spool.count(spool.deadletter_path),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
