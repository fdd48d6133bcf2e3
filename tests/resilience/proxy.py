"""A loopback TCP proxy a test can break: forward, refuse new connections, or hang (accept, pass nothing).

Faults of PostgreSQL and Redis are played through this proxy rather than by stopping the machine's
shared servers: point the settings (or a started process's DATABASE_URL / REDIS_URL) at
`proxy.port`, then call `proxy.refuse()`, `proxy.hang()` and `proxy.forward()`.
"""
from __future__ import annotations

import socket
import threading


class FaultProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = "forward"
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    # --- modes -----------------------------------------------------------------------------------------
    def forward(self):
        self.mode = "forward"

    def hang(self):
        """Connections stay open and nothing passes either way: a server that is up but stuck."""
        self.mode = "hang"

    def refuse(self):
        """Existing connections are cut and new ones closed at once: a server that is down."""
        self.mode = "refuse"
        self._cut_all()

    def close(self):
        self._closed = True
        self._cut_all()
        self._listener.close()

    # --- plumbing --------------------------------------------------------------------------------------
    def _cut_all(self):
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept_loop(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.mode == "hang" and not self._closed:
                    threading.Event().wait(0.05)
                if self.mode == "refuse" or self._closed:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
