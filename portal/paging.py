"""Pagination and live mode shared by the list pages (events, conferences, commands, calls...)."""
from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db import connections
from rest_framework.pagination import PageNumberPagination

PAGE_SIZE = 50
# An unfiltered list of a table larger than this is counted from PostgreSQL's statistics, not by
# COUNT(*): counting a million events took ~70 ms of every Events page (issue 13).
ESTIMATE_ABOVE = 100_000


# A filtered list on PostgreSQL counts at most this many rows and then says "more than": counting the
# million events of one type in a month of 2x10^7 took seconds (issue 32); reading this many costs ms.
COUNT_CAP = 10_000


class EstimatingPaginator(Paginator):
    """A Paginator that estimates the count of a large unfiltered table (PostgreSQL), caps a filtered
    count at COUNT_CAP there, and counts exactly elsewhere."""

    estimated = False  # whether `count` is PostgreSQL's estimate (the pager then says "about")
    capped = False  # whether `count` is COUNT_CAP with more rows behind it (the pager says "more than")

    @cached_property
    def count(self) -> int:
        estimate = table_estimate(self.object_list)
        self.estimated = estimate is not None and estimate > ESTIMATE_ABOVE
        if self.estimated:
            return estimate
        if estimate is None and _is_postgresql(self.object_list):
            counted = self.object_list[: COUNT_CAP + 1].count()
            self.capped = counted > COUNT_CAP
            return min(counted, COUNT_CAP)
        return super().count


def _is_postgresql(queryset) -> bool:
    return hasattr(queryset, "query") and connections[queryset.db].vendor == "postgresql"


def table_estimate(queryset) -> int | None:
    """PostgreSQL's row estimate of the table behind an unfiltered queryset; None where it does not apply."""
    query = getattr(queryset, "query", None)
    if query is None or query.where.children or query.distinct or query.group_by is not None or query.combinator:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # A partitioned table (the events, issue 32) has no statistics of its own: its partitions' sum.
        cursor.execute(
            "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) FROM pg_inherits i "
            "JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid) ELSE c.reltuples END::bigint "
            "FROM pg_class c WHERE c.oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] >= 0 else None  # -1: never analyzed


class ApiPagination(PageNumberPagination):
    """The API's page-number pagination, with large unfiltered counts estimated as on the pages."""

    django_paginator_class = EstimatingPaginator


def list_page(request, queryset, *, group: str, per_page: int = PAGE_SIZE) -> dict:
    """Context for a paginated, live list: `page_obj`, `rows`, `filtered`, `live_groups`, `live_mode`.

    live_mode "patch": the unfiltered first page, patched row by row from the group's fragments;
    "refetch": a filtered first page, re-fetched (throttled) whenever the group speaks, because a
    pushed row cannot tell whether it matches these filters; "off": later pages, which would shift
    under the reader as new rows arrive.
    """
    page: Page = EstimatingPaginator(queryset, per_page).get_page(request.GET.get("page"))
    filtered = any(value for key, value in request.GET.items() if key != "page")
    mode = "off" if page.number > 1 else ("refetch" if filtered else "patch")
    return {
        "page_obj": page, "rows": page.object_list, "filtered": filtered, "live_mode": mode,
        "live_groups": [group] if mode != "off" else [],
    }
