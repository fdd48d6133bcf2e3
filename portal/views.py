"""Dashboard."""
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from portal.selectors import dashboard_counters


@permission_required("portal.view_dashboard", raise_exception=True)
def dashboard(request):
    """Live counters, each linking to its page."""
    return render(request, "portal/dashboard.html", {"counters": dashboard_counters(), "live_groups": ["dashboard"]})
