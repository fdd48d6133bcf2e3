"""Checks a rule or channel must pass at every door (the API's serializers and the page and admin forms)."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from alerts.models import QUEUE_METRICS, AlertChannel


def scope_error(metric: str | None, queue) -> str | None:
    """A queue only scopes a queue metric; a system metric has none."""
    if queue is not None and metric not in QUEUE_METRICS:
        return f"{metric} is a system metric: leave the queue empty."
    return None


def target_error(kind: str | None, target: str) -> str | None:
    """A webhook targets one URL; e-mail one or more addresses (separated by , or ;)."""
    target = (target or "").strip()
    if kind == AlertChannel.Kind.WEBHOOK:
        try:
            URLValidator(schemes=["http", "https"])(target)
        except ValidationError:
            return "Enter a valid URL."
        return None
    addresses = [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]
    if not addresses:
        return "Give one or more e-mail addresses."
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            return f"{address!r} is not an e-mail address."
    return None
