"""Commands pages: the live audit list and one command's detail."""
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, render

from portal.commands.selectors import CommandFilter, command_queryset


@permission_required("portal.view_command", raise_exception=True)
def command_list(request):
    filterset = CommandFilter(request.GET, queryset=command_queryset())
    return render(
        request,
        "portal/commands/command_list.html",
        {
            "filterset": filterset,
            "commands": filterset.qs[:200] if filterset.is_valid() else [],
            "live_groups": [] if request.GET else ["commands"],
            "filtered": bool(request.GET),
        },
    )


@permission_required("portal.view_command", raise_exception=True)
def command_detail(request, pk):
    command = get_object_or_404(command_queryset(), pk=pk)
    return render(
        request,
        "portal/commands/command_detail.html",
        {"command": command, "retries": command.retries.all(), "live_groups": ["commands"]},
    )
