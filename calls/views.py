"""Calls page."""
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from calls.selectors import call_list


@permission_required("calls.view_call", raise_exception=True)
def call_list_view(request):
    return render(request, "calls/call_list.html", {"calls": call_list(), "live_groups": ["calls"]})
