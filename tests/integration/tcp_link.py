"""A TCP link to a real server that a test can cut, as a network partition would.

Cut, it stops moving bytes either way and leaves new connections unanswered (accepted by
the kernel, never forwarded): a client sees no refusal, only its own timeout.
"""

from __future__ import annotations

import select
import socket
import threading

POLL_SECONDS = 0.02


class CuttableLink:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._is_cut = threading.Event()
        self._is_closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, name="link-accept", daemon=True)]
        self._threads[0].start()

    def cut(self) -> None:
        """From now on nothing passes, on open connections or new ones."""
        self._is_cut.set()

    def close(self) -> None:
        self._is_closed.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in [self._listener, *self._sockets]:
            sock.close()

    def _accept(self) -> None:
        while not self._is_closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._sockets.append(client)
            if self._is_cut.is_set():
                continue  # held open, never answered
            server = socket.create_connection(self._upstream, timeout=5)
            self._sockets.append(server)
            for source, target in ((client, server), (server, client)):
                thread = threading.Thread(
                    target=self._pump, args=(source, target), name="link-pump", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while not self._is_closed.is_set():
            if self._is_cut.is_set():
                self._is_closed.wait(POLL_SECONDS)  # bytes stay unread: the peer waits
                continue
            readable, _, _ = select.select([source], [], [], POLL_SECONDS)
            if not readable:
                continue
            try:
                data = source.recv(65_536)
                if not data:
                    target.shutdown(socket.SHUT_WR)
                    return
                target.sendall(data)
            except OSError:
                return
