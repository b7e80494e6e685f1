"""An ASGI app that builds the real one on its first request.

Airflow imports every plugin module in every process that loads plugins: the scheduler, the DAG
processor and each task process, not only the API server that serves the page. The page's app
(FastAPI, the panels, the Elasticsearch client) is therefore built where it is first asked for,
so a task process pays nothing for a page it never serves.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

AsgiScope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LazyAsgiApp:
    """`factory` names a function ("package.module:function") returning the ASGI app."""

    def __init__(self, factory: str) -> None:
        self.factory = factory
        self._app: Callable[[AsgiScope, Receive, Send], Awaitable[None]] | None = None
        self._lock = threading.Lock()

    def app(self) -> Callable[[AsgiScope, Receive, Send], Awaitable[None]]:
        with self._lock:
            if self._app is None:
                module, _, name = self.factory.partition(":")
                self._app = getattr(importlib.import_module(module), name)()
            return self._app

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        await self.app()(scope, receive, send)
