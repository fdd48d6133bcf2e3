"""Reads of commands for the Commands page and the API."""
import django_filters
from django.contrib.auth import get_user_model

from portal.filters import TimeRangeFilterSet
from portal.models import Command


def command_queryset():
    return Command.objects.select_related("requested_by")


class CommandFilter(TimeRangeFilterSet):
    """Filters shared by the Commands page and GET /api/v1/commands/ (since / until: when it was issued)."""

    time_field = "created_at"

    status = django_filters.ChoiceFilter(choices=Command.Status.choices)
    action = django_filters.CharFilter(lookup_expr="startswith", label="Action")
    target = django_filters.CharFilter(label="Target")
    # By username, as every door shows who asked (requested_by is a username in the API).
    user = django_filters.ModelChoiceFilter(
        field_name="requested_by", queryset=get_user_model().objects.order_by("username"), label="User",
        to_field_name="username",
    )
    door = django_filters.ChoiceFilter(choices=Command.Door.choices)

    class Meta:
        model = Command
        fields = ["status", "action", "target", "user", "door", "since", "until"]
