"""`{% form_token %}`: a fresh one-time token for a form that issues commands (portal/commands/idempotency.py)."""
import uuid

from django import template

register = template.Library()


@register.simple_tag
def form_token() -> str:
    """A new token per render: a second submit of the same rendered form is recognised as a repeat."""
    return uuid.uuid4().hex
