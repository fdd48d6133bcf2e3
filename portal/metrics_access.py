"""Who may read /metrics: a bearer token, or loopback callers only when allowed."""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from django.conf import settings
from django.utils.crypto import constant_time_compare

# A request that came through a proxy is not a local caller, whatever address the proxy has.
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def access_refusal(meta: Mapping[str, str]) -> tuple[int, str] | None:
    """None if this request (WSGI environ / request.META) may read metrics, else (status, why)."""
    token = settings.METRICS_TOKEN
    if token:
        if constant_time_compare(meta.get("HTTP_AUTHORIZATION", ""), f"Bearer {token}"):
            return None
        return 401, "A valid bearer token is required."
    if not settings.METRICS_ALLOW_LOOPBACK:
        return 403, "Metrics need METRICS_TOKEN (or METRICS_ALLOW_LOOPBACK=true where only trusted local callers reach the port)."
    if any(meta.get(header) for header in FORWARDING_HEADERS):
        return 403, "Metrics are served to loopback callers only; set METRICS_TOKEN to scrape from elsewhere."
    try:
        if ipaddress.ip_address(meta.get("REMOTE_ADDR", "")).is_loopback:
            return None
    except ValueError:
        pass
    return 403, "Metrics are served to loopback callers only; set METRICS_TOKEN to scrape from elsewhere."
