"""An Elasticsearch that goes away and comes back at the same address, in milliseconds: a TCP
forwarder to the real node that tests switch off (connections refused, open ones cut) and on.
Restarting the node itself takes ~15 s; the Celery e2e tests do that for real."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class Outage:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port` while `up`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        probe = socket.create_server(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def up(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut the open ones, as a node that died would."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, set()
        for sock in (listener, *sockets):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by `down`
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def switchable(upstream_port: int) -> Iterator[Outage]:
    """An `Outage` that starts down, and is down again afterwards."""
    outage = Outage(upstream_port)
    try:
        yield outage
    finally:
        outage.down()
