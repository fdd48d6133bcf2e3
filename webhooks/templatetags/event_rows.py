"""`{% event_row event %}`: the Events page's row (webhooks/rows.py), the same markup its live updates send."""
from django import template

from webhooks.rows import event_row as build

register = template.Library()


@register.simple_tag
def event_row(event):
    return build(event)
