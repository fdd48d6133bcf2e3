"""The request being served, so services deep below a view can record where an action came from."""
from __future__ import annotations

import ipaddress
from contextvars import ContextVar

from axes.helpers import get_client_ip_address

_current_request: ContextVar = ContextVar("audit_current_request", default=None)


def current_request():
    """The HTTP request this thread or task is serving, or None (workers, beat, management commands)."""
    return _current_request.get()


def client_address(request) -> str | None:
    """The client's address as the sign-in lockout sees it (TRUSTED_PROXY_COUNT decides whom to believe)."""
    if request is None:
        return None
    address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def door_of(request) -> str:
    """Which door a request came through: the admin, the API, or a portal page."""
    if request is None:
        return "system"
    path = getattr(request, "path_info", "") or ""
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return "page"


class AuditContextMiddleware:
    """Makes the request reachable by `current_request()` while it is served (sync or async)."""

    sync_capable = True
    async_capable = False  # Django adapts it; the context variable is copied into the view's thread

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
