"""Recordings page."""
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from recordings.selectors import recording_list


@permission_required("recordings.view_recording", raise_exception=True)
def recording_list_view(request):
    return render(request, "recordings/recording_list.html", {"recordings": recording_list(), "live_groups": ["recordings"]})
