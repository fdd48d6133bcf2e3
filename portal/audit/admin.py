"""The audit trail in the admin: read only, for Administrators included."""
from django.contrib import admin

from portal.admin_mixins import ReadOnlyAdminMixin
from portal.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "kind", "username", "address", "door", "target", "summary"]
    list_filter = ["kind", "door", "at"]
    search_fields = ["username", "target", "summary", "address"]
    date_hierarchy = "at"
    actions = None
