"""Delivery commands: `python -m include.stack.delivery {install-templates|replay|status|drain}`.

- install-templates  put the project's index templates into the cluster (idempotent): task
                     health, anomalies, and Airflow's task logs (AIRFLOW_TASK_LOGS_INDEX)
- replay             re-send every spooled event and detection row (same ids: nothing is duplicated);
                     `replay --dead-letters` re-sends the dead letters, keeping those rejected again
- status             per spool: spooled / dead-lettered counts and where the files are, whether
                     the spool can be written and what keeps delivery from working (a refused
                     index template); exit 1 when either is wrong
- drain              the spool drainer as a service of its own (`--once`: one pass, for cron), for
                     a host where no scheduler, DAG processor, triggerer or Celery worker runs one
replay, status and drain act on every spool the host sees (`include.stack.spools`): its own
(TASK_HEALTH_SPOOL_DIR) and the adopted ones (TASK_HEALTH_ADOPT_SPOOL_DIRS).
The cluster is the Airflow connection in TASK_HEALTH_CONN_ID (default elasticsearch_default);
`install-templates --conn-id ADMIN` installs through another one: on a secured cluster the
writer may not manage templates, so an admin connection does this step (and the writer's
processes run with TASK_HEALTH_MANAGE_TEMPLATES=false).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from dataclasses import asdict, replace
from typing import TYPE_CHECKING

from include.airflow_compat import read_connections_from_metadata_db
from include.anomaly.index import anomalies_shipper
from include.delivery.shipper import describe
from include.delivery.shippers import client
from include.delivery.templates import ensure_template
from include.stack.draining import new_drainer
from include.stack.spools import VisibleSpools, visible_roots
from include.task_health.emitter import task_health_shipper
from include.task_health.settings import TaskHealthSettings
from include.task_health.templates import airflow_logs_template

if TYPE_CHECKING:
    from include.delivery.shipper import Shipper


def install_task_logs_template(settings: TaskHealthSettings) -> bool:
    """The template for Airflow's own task logs (written by the provider, not by a shipper)."""
    es = client(settings.delivery, request_timeout_s=settings.delivery.request_timeout_s * 5)
    return ensure_template(es, airflow_logs_template(settings.task_logs_index))


def _spool_report(shipper: Shipper) -> dict[str, object]:
    spool = shipper.spool
    return {
        "destination": shipper.template.name,
        "spool": str(spool.path),
        "spooled": spool.count(),
        "dead_letter": str(spool.deadletter_path),
        "dead_lettered": spool.count(spool.deadletter_path),
        "spool_unwritable": spool.unwritable_because(),
        "problems": spool.problems(),
    }


def main(argv: list[str]) -> int:
    # An operator's command on a machine with the metadata DB, like the scheduler.
    read_connections_from_metadata_db()
    parser = argparse.ArgumentParser(prog="python -m include.stack.delivery", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["install-templates", "replay", "status", "drain"])
    parser.add_argument(
        "--dead-letters",
        action="store_true",
        help="with replay: re-send the dead letters instead (once their cause is fixed); those rejected again stay",
    )
    parser.add_argument("--once", action="store_true", help="with drain: one pass, then exit")
    parser.add_argument(
        "--conn-id", help="the connection to use instead of TASK_HEALTH_CONN_ID (an admin one for install-templates)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = TaskHealthSettings.from_env()
    if args.conn_id:
        settings = replace(settings, delivery=replace(settings.delivery, conn_id=args.conn_id))
    if args.command == "install-templates":
        shippers = [task_health_shipper(settings), anomalies_shipper(settings.delivery)]
        try:
            written = [s.template.name for s in shippers if s.install_template()]
            if install_task_logs_template(settings):
                written.append(settings.task_logs_index)
        except Exception as err:
            problem = f"cannot install the index templates through connection {settings.delivery.conn_id!r}"
            print(f"{problem}: {describe(err)}", file=sys.stderr)
            return 1
        print(json.dumps({"written": written}))
        return 0
    spools = VisibleSpools(settings)()
    if args.command == "replay" and args.dead_letters:
        report = [
            {"spool": str(s.spool.path), "destination": s.template.name}
            | asdict(s.replay_dead_letters())
            | {"still_dead_lettered": s.spool.count(s.spool.deadletter_path)}
            for s in spools
        ]
        print(json.dumps(report))
        return 0 if all(r["still_dead_lettered"] == 0 for r in report) else 1
    if args.command == "replay":
        report = [
            {"spool": str(s.spool.path), "destination": s.template.name}
            | asdict(s.replay())
            | {"still_spooled": s.spool.count()}
            for s in spools
        ]
        print(json.dumps(report))
        return 0 if all(r["still_spooled"] == 0 for r in report) else 1
    if args.command == "drain":
        return drain_forever(settings, once=args.once)
    statuses = [_spool_report(s) for s in spools]
    print(json.dumps(statuses))
    return 0 if all(r["spool_unwritable"] is None and not r["problems"] for r in statuses) else 1


def drain_forever(settings: TaskHealthSettings, once: bool) -> int:
    """The drainer in the foreground until SIGTERM/SIGINT (then one last pass); with `once`,
    one pass; exit 1 when something is still spooled."""
    drainer = new_drainer(settings)
    if once:
        result = drainer.once()
        print(json.dumps(asdict(result)))
        return 1 if result.spooled or result.lost else 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    drainer.start()
    logging.getLogger(__name__).info("draining %s every %.0f s", [str(r) for r in visible_roots(settings)],
                                     drainer.interval_s)  # fmt: skip
    stop.wait()
    drainer.stop(final_budget_s=settings.delivery.ship_budget_s)
    print(json.dumps({"passes": drainer.passes} | asdict(drainer.totals)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
