"""The four staff roles as Django groups of permissions; README.md shows the same matrix."""
from __future__ import annotations

from django.apps import apps as global_apps

VIEWER = [
    "portal.view_dashboard",
    "portal.view_command",
    "webhooks.view_webhookevent",
    "conferencing.view_conference",
    "conferencing.view_participant",
    "queues.view_queue",
    "queues.view_queuedcall",
    "calls.view_call",
    "recordings.view_recording",
    "alerts.view_alert",  # everyone sees alerts and the rules behind them (issue 26)
    "alerts.view_alertrule",
]
OPERATOR = VIEWER + [
    "conferencing.control_conference",
    "queues.control_queue",
    "calls.control_call",
    "portal.retry_command",
    "webhooks.reprocess_webhookevent",
    "alerts.acknowledge_alert",
]
SUPERVISOR = OPERATOR + [
    "conferencing.supervise_conference",
    "calls.supervise_call",
    "recordings.listen_recording",
]
ADMINISTRATOR = SUPERVISOR + [
    "queues.manage_queue",
    "recordings.delete_recording",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.delete_user",
    "auth.view_group",
    "portal.view_apitoken",
    "portal.add_apitoken",
    "portal.delete_apitoken",
    "ops.view_system",
    # Sign-in lockouts (django-axes): see them, and lift one by deleting its attempt row.
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accessfailurelog",
    "audit.view_auditentry",
    # Two factors (issue 24): see who enrolled, and reset a lost authenticator by deleting its devices.
    "otp_totp.view_totpdevice",
    "otp_totp.delete_totpdevice",
    "otp_static.view_staticdevice",
    "otp_static.delete_staticdevice",
    "accounts.view_companyidentity",
    # Alert rules and delivery channels (issue 26).
    "alerts.add_alertrule",
    "alerts.change_alertrule",
    "alerts.delete_alertrule",
    "alerts.view_alertchannel",
    "alerts.add_alertchannel",
    "alerts.change_alertchannel",
    "alerts.delete_alertchannel",
    "alerts.test_alertchannel",
    "alerts.view_alertdelivery",
]

ROLES: dict[str, list[str]] = {
    "Viewer": VIEWER,
    "Operator": OPERATOR,
    "Supervisor": SUPERVISOR,
    "Administrator": ADMINISTRATOR,
}


def sync_roles(apps=None) -> None:
    """Create or update the role groups so each holds exactly its permissions."""
    if apps is None:
        apps = global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
