"""Reads of call legs."""
from django.db.models import Case, IntegerField, Value, When

from calls.models import Call


def call_list(limit: int = 200):
    """Active legs first, then the most recent ended ones."""
    return Call.objects.annotate(
        ended=Case(When(state=Call.State.HANGUP, then=Value(1)), default=Value(0), output_field=IntegerField())
    ).order_by("ended", "-started_at", "-id")[:limit]
