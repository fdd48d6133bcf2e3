"""Panels the recordings app contributes to other apps' pages, so those apps need not import it."""
from django import template

from recordings.selectors import call_recordings

register = template.Library()


@register.inclusion_tag("recordings/_call_recordings.html")
def call_recordings_panel(call):
    """The recordings of one call leg, for the call's page."""
    return {"recordings": call_recordings(call)}
