"""Every spool a host can see: its own (TASK_HEALTH_SPOOL_DIR) and the ones it adopts
(TASK_HEALTH_ADOPT_SPOOL_DIRS, e.g. the spools of other hosts on a shared volume), each with
one spool per destination (task-health documents, detection rows).

Here, above both producers, because draining, replaying and reporting act on every destination,
so that no spooled row is left behind.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from include.anomaly.index import anomalies_destination
from include.delivery.shippers import Destination, new_shipper
from include.task_health.emitter import task_health_destination
from include.task_health.settings import TaskHealthSettings

if TYPE_CHECKING:
    from include.delivery.shipper import Shipper


def destinations(settings: TaskHealthSettings) -> list[Destination]:
    return [task_health_destination(settings), anomalies_destination()]


def visible_roots(settings: TaskHealthSettings) -> list[Path]:
    """The host's own spool root first, then the adopted ones that exist now (each once)."""
    roots: dict[Path, Path] = {}
    for root in (settings.delivery.spool_root, *settings.delivery.adopted_spool_roots):
        roots.setdefault(root.resolve(), root)
    return list(roots.values())


class VisibleSpools:
    """The shippers of every visible spool, made once per root and destination and kept (a
    drainer asks at each pass: adopted roots may appear later, and clients are reused)."""

    def __init__(self, settings: TaskHealthSettings) -> None:
        self.settings = settings
        self._shippers: dict[tuple[Path, str], Shipper] = {}

    def __call__(self) -> list[Shipper]:
        shippers = []
        for root in visible_roots(self.settings):
            delivery = dataclasses.replace(self.settings.delivery, spool_root=root)
            for destination in destinations(self.settings):
                key = (root, destination.template.name)
                if key not in self._shippers:
                    self._shippers[key] = new_shipper(delivery, *destination)
                shippers.append(self._shippers[key])
        return shippers
