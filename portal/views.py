"""Dashboard."""
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from portal.selectors import dashboard_counters, dashboard_overview


@permission_required("portal.view_dashboard", raise_exception=True)
def dashboard(request):
    """A supervisor's overview, live: counters, open alerts, queues, calls per hour, conferences, failures."""
    context = {"counters": dashboard_counters(), "overview": dashboard_overview(), "live_groups": ["dashboard"]}
    return render(request, "portal/dashboard.html", context)
