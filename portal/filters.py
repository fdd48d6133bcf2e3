"""Filters every list shares: one time range (a calendar day or an ISO date-time) and strict booleans."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field

TIME_ERROR = "Enter a date (YYYY-MM-DD, the whole day in the portal's time zone) or an ISO 8601 date-time."
BOOLEAN_ERROR = "Enter true or false."
# An offset whose "+" arrived unencoded in a query string reads as a space: "09:10:00 00:00".
_SPACED_OFFSET = re.compile(r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


def parse_moment(value: str) -> date | datetime | None:
    """`2026-11-25` -> that date; an ISO 8601 date-time -> an aware datetime (naive ones in TIME_ZONE).

    The one reading of a time bound for every list, page and management command; None if unreadable.
    """
    text = _SPACED_OFFSET.sub(r"\1+\2", str(value).strip())
    try:
        # Date first: Python's fromisoformat (behind parse_datetime) reads "2026-11-25" as midnight.
        day = parse_date(text) if len(text) == 10 else None
        moment = None if day else parse_datetime(text)
    except ValueError:
        return None
    if moment:
        try:
            moment = moment if timezone.is_aware(moment) else timezone.make_aware(moment)
            moment.astimezone(UTC)  # the database stores UTC: year 1 east of it, or 9999 west, does not exist
        except (OverflowError, ValueError):
            return None
    return moment or day


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the portal's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class DateOrDateTimeField(forms.Field):
    """`2026-11-25` (a whole day in the portal's time zone) or `2026-11-25T09:10:00Z` (a moment)."""

    widget = forms.DateInput(attrs={"type": "date"})

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, date | datetime):
            return value
        parsed = parse_moment(value)
        if parsed is None:
            raise forms.ValidationError(TIME_ERROR, code="invalid")
        return parsed


@extend_schema_field({"type": "string", "example": "2026-11-25"})
class MomentFilter(django_filters.Filter):
    """`since` (bound="start") or `until` (bound="end"): a day counts whole, a date-time is exact.

    The field is the filter's own `field_name`, else its TimeRangeFilterSet's `time_field` (with
    `time_fallback_field` for rows that have no such time).
    """

    field_class = DateOrDateTimeField

    def __init__(self, field_name=None, *args, bound: str = "start", **kwargs):
        self.bound = bound
        # FilterSet fills in the attribute's own name ("since") when none is given: remember that none was.
        self.own_field = field_name
        kwargs.setdefault("help_text", "A date (YYYY-MM-DD: the whole day, in the portal's time zone) or an ISO 8601 date-time.")
        super().__init__(field_name, *args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if not isinstance(value, datetime):
            try:
                value = start_of(value) if self.bound == "start" else start_of(value + timedelta(days=1))
                value.astimezone(UTC)
            except (OverflowError, ValueError):  # the calendar's first or last day: every row is on one side
                after_all = value.year == date.max.year
                return qs.none() if after_all == (self.bound == "start") else qs
            lookup = "gte" if self.bound == "start" else "lt"
        else:
            lookup = "gte" if self.bound == "start" else "lte"
        field = self.own_field or self.parent.time_field
        fallback = None if self.own_field else self.parent.time_fallback_field
        condition = Q(**{f"{field}__{lookup}": value})
        if fallback:
            condition |= Q(**{f"{field}__isnull": True, f"{fallback}__{lookup}": value})
        return qs.filter(condition)


class TimeRangeFilterSet(django_filters.FilterSet):
    """Every list's `since` / `until`, with one meaning and one error (issue 30).

    Subclasses name the row's time in `time_field` (and `time_fallback_field` for rows without it);
    they may re-declare `since` / `until` to change only the label.
    """

    time_field = "created_at"
    time_fallback_field: str | None = None

    since = MomentFilter(bound="start", label="From")
    until = MomentFilter(bound="end", label="To")


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no); anything else is an error rather than "no filter"."""

    widget = forms.Select(choices=[("", "any"), ("true", "yes"), ("false", "no")])
    TRUE = ("true", "1", "yes", "on")
    FALSE = ("false", "0", "no", "off")

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(BOOLEAN_ERROR, code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    """A boolean filter that refuses `maybe` (400) as every other filter refuses a bad value."""

    field_class = StrictBooleanField
