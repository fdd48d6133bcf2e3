"""The admin site: Django's, plus django-otp's OTPAdminSite rule that the session has given its second factor."""
from django.contrib import admin

from accounts.two_factor import session_standing


class PortalAdminSite(admin.AdminSite):
    """OTPAdminSite requires a device of every staff user; here only where the policy does (issue 24):
    a session that owes its second factor, or an Administrator's enrolment, is not let in."""

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        return not session_standing(request.session, request.user).pending
