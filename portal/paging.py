"""Pagination and live mode shared by the list pages (events, conferences, commands, calls...)."""
from django.core.paginator import Page, Paginator

PAGE_SIZE = 50


def list_page(request, queryset, *, group: str, per_page: int = PAGE_SIZE) -> dict:
    """Context for a paginated, live list: `page_obj`, `rows`, `filtered`, `live_groups`, `live_mode`.

    live_mode "patch": the unfiltered first page, patched row by row from the group's fragments;
    "refetch": a filtered first page, re-fetched (throttled) whenever the group speaks, because a
    pushed row cannot tell whether it matches these filters; "off": later pages, which would shift
    under the reader as new rows arrive.
    """
    page: Page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    filtered = any(value for key, value in request.GET.items() if key != "page")
    mode = "off" if page.number > 1 else ("refetch" if filtered else "patch")
    return {
        "page_obj": page, "rows": page.object_list, "filtered": filtered, "live_mode": mode,
        "live_groups": [group] if mode != "off" else [],
    }
