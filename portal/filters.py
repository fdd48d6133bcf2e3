"""Filters every list shares: a time bound that takes a calendar day (pages) or an ISO date-time (the API)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


class DateOrDateTimeField(forms.Field):
    """`2026-11-25` (a whole day in the portal's time zone) or `2026-11-25T09:10:00Z` (a moment)."""

    widget = forms.DateInput(attrs={"type": "date"})

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, date | datetime):
            return value
        text = str(value).strip().replace(" ", "+") if "T" in str(value) else str(value).strip()
        try:
            # Date first: Python's fromisoformat (behind parse_datetime) reads "2026-11-25" as midnight.
            day = parse_date(text) if len(text) == 10 else None
            moment = None if day else parse_datetime(text)
        except ValueError:
            moment = day = None
        if moment:
            return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
        if day:
            return day
        raise forms.ValidationError("Enter a date (YYYY-MM-DD) or an ISO 8601 date-time.")


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class MomentFilter(django_filters.Filter):
    """`since` (bound="start") or `until` (bound="end"): a day counts whole, a date-time is exact."""

    field_class = DateOrDateTimeField

    def __init__(self, *args, bound: str = "start", **kwargs):
        self.bound = bound
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if not isinstance(value, datetime):
            value = _start_of(value) if self.bound == "start" else _start_of(value + timedelta(days=1))
            lookup = "gte" if self.bound == "start" else "lt"
        else:
            lookup = "gte" if self.bound == "start" else "lte"
        return qs.filter(**{f"{self.field_name}__{lookup}": value})
