"""Serve this machine's portal metrics on their own port: for machines that run workers but no web process."""
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.core.management.base import BaseCommand
from prometheus_client import CONTENT_TYPE_LATEST

from portal import metrics_access, metrics_exposition


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass  # one line per scrape is noise


def application(environ, start_response):
    """GET /metrics with the same rule as the web's: METRICS_TOKEN as a bearer token, else loopback only."""
    if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found: this port serves GET /metrics only.\n"]
    refusal = metrics_access.access_refusal(environ)
    if refusal:
        status, message = refusal
        headers = [("Content-Type", "text/plain")]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
        start_response("401 Unauthorized" if status == 401 else "403 Forbidden", headers)
        return [message.encode() + b"\n"]
    # State gauges come from the database and are the same everywhere: the web's /metrics serves them.
    body = metrics_exposition.render(database=False)
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
    return [body]


class Command(BaseCommand):
    help = "Serve GET /metrics for the portal processes of this machine (counters of workers, without a web process)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=9808)

    def handle(self, *args, host, port, **options):
        server = make_server(host, port, application, server_class=WSGIServer, handler_class=QuietHandler)
        self.stdout.write(f"Metrics of this machine's portal processes at http://{host}:{port}/metrics")
        server.serve_forever()
