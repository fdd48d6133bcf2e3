"""Admin: company sign-in identities, read-only (the provider creates and updates them)."""
from django.contrib import admin

from accounts.models import CompanyIdentity
from portal.admin_mixins import ReadOnlyAdminMixin


@admin.register(CompanyIdentity)
class CompanyIdentityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "subject", "issuer", "groups", "first_sign_in_at", "last_sign_in_at"]
    search_fields = ["user__username", "subject", "user__email"]
    list_select_related = ["user"]
