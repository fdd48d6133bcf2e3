"""The Audit page (Administrators) and its CSV export."""
from django.contrib.auth.decorators import permission_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from portal.audit.export import csv_rows
from portal.audit.models import AuditEntry
from portal.audit.selectors import AuditFilter, audit_queryset
from portal.paging import list_page

VIEW = "audit.view_auditentry"


def _filtered(request):
    filterset = AuditFilter(request.GET, queryset=audit_queryset())
    return filterset, (filterset.qs if filterset.is_valid() else AuditEntry.objects.none())


@permission_required(VIEW, raise_exception=True)
def audit_list(request):
    filterset, queryset = _filtered(request)
    context = list_page(request, queryset, group="audit")
    # The trail does not publish live: a page that updated itself would invite watching, not auditing.
    context.update(filterset=filterset, entries=context["rows"], live_groups=[], live_mode="off")
    return render(request, "audit/audit_list.html", context, status=200 if filterset.is_valid() else 400)


@permission_required(VIEW, raise_exception=True)
def audit_export(request):
    """The filtered trail as CSV (every matching row, streamed)."""
    filterset, queryset = _filtered(request)
    if not filterset.is_valid():
        return render(request, "audit/audit_list.html", {"filterset": filterset, "entries": []}, status=400)
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
