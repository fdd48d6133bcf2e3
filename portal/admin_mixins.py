"""Shared admin behaviour: read-only audit models and live changelists."""
from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from rest_framework.exceptions import ValidationError

from portal.commands import actions as declared
from portal.commands import idempotency, services
from portal.models import Command


class ReadOnlyAdminMixin:
    """Rows written only by services: the admin may look and run actions, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LiveChangeListMixin:
    """Subscribes the changelist to admin.<app>.<model> so changes show without a reload."""

    change_list_template = "admin/live_change_list.html"

    def changelist_view(self, request, extra_context=None):
        opts = self.model._meta
        extra_context = {**(extra_context or {}), "live_groups": [f"admin.{opts.app_label}.{opts.model_name}"]}
        return super().changelist_view(request, extra_context)


def admin_once(request, issue):
    """Run `issue` (returning commands) once per one-time token of the submitted admin form: (commands, replayed).

    Every admin page carries the token (templates/admin/actions.html, the confirmation pages), so a
    resubmitted action or confirmation answers with the commands already issued and sends nothing.
    """
    token = request.POST.get("idempotency_token", "")
    if not idempotency.valid_key(token):
        return issue(), False
    body = {"action": request.POST.get("action", ""), "selected": sorted(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)),
            **{k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "idempotency_token", "index",
                                                                  "action", helpers.ACTION_CHECKBOX_NAME, "confirmed")}}
    return idempotency.once(user=request.user, key=f"admin:{token}",
                            fingerprint=idempotency.fingerprint("POST", request.path, body), issue=issue)


def already_sent(description: str, commands) -> str:
    numbers = ", ".join(f"#{c.pk}" for c in commands) or "none"
    return f"{description}: this form was already submitted (command {numbers}); nothing sent again."


def command_action(action_name: str, description: str, plan):
    """An admin bulk action that issues `action_name` through the command bus.

    `plan(obj)` returns the (target, params) pairs to issue for one selected row; the service checks
    permission and parameters exactly as for pages and the API.
    """
    def admin_action(modeladmin, request, queryset):
        action = declared.get(action_name)
        if action and action.destructive and not request.POST.get("confirmed"):
            return TemplateResponse(
                request,
                "admin/confirm_command.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "title": f"{description}: are you sure?",
                    "description": description,
                    "objects": queryset,
                    "action_name": admin_action.__name__,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                    "opts": modeladmin.model._meta,
                },
            )
        problems = []

        def issue():
            commands = []
            for obj in queryset:
                for target, params in plan(obj):
                    try:
                        commands.append(services.command_issue(
                            action_name=action_name, target=target, params=params, user=request.user, door=Command.Door.ADMIN
                        ))
                    except ValidationError as exc:
                        problems.append(f"{obj}: {exc.detail}")
            return commands

        try:
            issued, replayed = admin_once(request, issue)
        except PermissionDenied as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return
        except idempotency.KeyReused as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return
        if replayed:
            modeladmin.message_user(request, already_sent(description, issued), messages.INFO)
            return
        if issued:
            modeladmin.message_user(request, f"{description}: queued {len(issued)} command(s).", messages.SUCCESS)
        if problems:
            modeladmin.message_user(request, "Not queued: " + "; ".join(problems), messages.WARNING)
        if not issued and not problems:
            modeladmin.message_user(request, f"{description}: nothing to do for the selected rows.", messages.INFO)

    admin_action.short_description = description
    admin_action.__name__ = "issue_" + action_name.replace(".", "_")
    admin_action.command_action_name = action_name
    return admin_action


class CommandActionsMixin:
    """Offers a command action only to users who hold its permission."""

    def get_actions(self, request):
        available = super().get_actions(request)
        for name, (func, _, _) in list(available.items()):
            action_name = getattr(func, "command_action_name", None)
            if action_name:
                action = declared.get(action_name)
                if action is None or not request.user.has_perm(action.permission):
                    del available[name]
        return available


def declared_actions(kind_name: str, *short_names: str, params: dict | None = None) -> list:
    """Admin bulk actions straight from the declarations, for rows that are themselves `kind_name` targets.

    Each selected row becomes one command with `params` (none by default); the label, the confirmation
    of destructive actions and the permission all come from the declaration.
    """
    built = []
    for short in short_names:
        name = f"{kind_name}.{short}"
        action = declared.get(name)
        if action is None:
            raise LookupError(f"no action {name} is declared")
        kind = declared.kind(kind_name)
        built.append(command_action(name, action.label, lambda obj, kind=kind: [(kind.target_of(obj), dict(params or {}))]))
    return built
