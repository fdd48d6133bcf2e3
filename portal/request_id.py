"""A request id on every request and every log line it causes (X-Request-ID in, X-Request-ID out)."""
from __future__ import annotations

import contextvars
import logging
import re
import uuid

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# A proxy's id is kept only if it looks like one: never let a header inject text into the logs.
INCOMING = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")


class RequestIdMiddleware:
    """Take the proxy's X-Request-ID (if sane) or make one; expose it on the response and in logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        value = incoming if INCOMING.match(incoming) else uuid.uuid4().hex
        token = request_id.set(value)
        request.request_id = value
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = value
        return response


class ContextFilter(logging.Filter):
    """Put the current request id on every record made during a request, for the JSON formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = request_id.get()
        if current and not getattr(record, "request_id", None):
            record.request_id = current
        return True
