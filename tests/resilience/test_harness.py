"""The harness itself: the proxy forwards, hangs and refuses as the fault tests rely on."""
import socket
import threading

import pytest

from tests.resilience.proxy import FaultProxy


@pytest.fixture
def echo_server():
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=lambda c=conn: [c.sendall(d) for d in iter(lambda: c.recv(1024), b"")],
                             daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.mark.resilience("Harness: fault proxy")
def test_proxy_forwards_hangs_and_refuses(echo_server, resilience):
    proxy = FaultProxy("127.0.0.1", echo_server)
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as s:
            s.sendall(b"ping")
            assert s.recv(4) == b"ping"
            proxy.hang()
            s.sendall(b"stuck")
            s.settimeout(0.3)
            with pytest.raises(socket.timeout):
                s.recv(5)
        proxy.refuse()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as s:
            s.settimeout(1)
            assert s.recv(1) == b""  # closed at once
        proxy.forward()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as s:
            s.sendall(b"back")
            assert s.recv(4) == b"back"
        resilience.tried(4)
    finally:
        proxy.close()
