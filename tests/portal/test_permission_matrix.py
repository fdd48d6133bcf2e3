"""The permission matrix (issue 24): every route, admin view and action x every role, against README's table.

Routes come from the URL configuration and actions from their declarations; each must have a rule in
tests/portal/roles_table.py, so a new route or action without one fails here.
"""
import json

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import CompanyIdentity
from alerts.models import Alert, AlertDelivery
from portal.audit.models import AuditEntry
from portal.commands import actions
from portal.tokens import api_token_create
from tests.alerts.factories import AlertChannelFactory, AlertRuleFactory
from tests.calls.factories import CallFactory
from tests.factories import CommandFactory, ConferenceFactory, ParticipantFactory, UserFactory
from tests.portal.roles_table import (
    ADMIN_MODELS,
    CONTROL_ACTIONS,
    MANAGE_ACTIONS,
    ROLES,
    ROUTES,
    ROWS,
    SUPERVISE_ACTIONS,
    SUPERVISOR_ROLE_PARAMS,
)
from tests.queues.factories import QueuedCallFactory, QueueFactory
from tests.recordings.factories import TranscriptionFactory, stored_recording
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db
DENIED = {401, 403}


def url_patterns(patterns=None, prefix=""):
    """Every (pattern, callback) of the URL configuration, with its full pattern text."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern))
        else:
            pattern = prefix + str(entry.pattern)
            # The admin's app index spells out every app label in its pattern: one rule for all of them.
            yield ("admin/<app_label>/" if pattern.startswith("admin/^(?P<app_label>") else pattern), entry.callback


def is_format_variant(pattern: str) -> bool:
    """DRF's `.json` suffix twins of a route: the same view, so the same rule."""
    return "(?P<format>" in pattern or "<drf_format_suffix:format>" in pattern


def admin_model_pattern(pattern: str) -> str | None:
    for model in admin.site._registry:
        if pattern.startswith(f"admin/{model._meta.app_label}/{model._meta.model_name}/"):
            return model._meta.label_lower
    return None


@pytest.fixture
def sample(settings, tmp_path):
    """One of everything the routes address, and a user per role."""
    settings.STORAGES = {**settings.STORAGES, "recordings": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
    users = {role: UserFactory(username=role.lower(), role=role) for role in ROLES if role != "anonymous"}
    conference = ConferenceFactory(conference_id="conf-1")
    call = CallFactory(call_control_id="v3:call-1")
    participant = ParticipantFactory(conference=conference, call_control_id=call.call_control_id)
    queue = QueueFactory(name="support")
    queued = QueuedCallFactory(queue=queue, call_control_id="v3:caller-1")
    recording = stored_recording(b"audio", recording_id="rec-1", conference_id="conf-1")
    transcription = TranscriptionFactory(recording=recording)
    command = CommandFactory()
    event = WebhookEvent.objects.create(event_id="ev-1", event_type="call.hangup", payload={})
    entry = AuditEntry.objects.create(kind=AuditEntry.Kind.SIGN_IN, summary="x")
    token, _ = api_token_create(user=users["Viewer"])
    identity = CompanyIdentity.objects.create(user=users["Viewer"], issuer="https://idp.example", subject="sub-1",
                                              last_sign_in_at=timezone.now())
    device_owner = UserFactory(username="enrolled")  # not a role's user: a device makes its sign-in owe a code
    totp = TOTPDevice.objects.create(user=device_owner, name="phone")
    static = StaticDevice.objects.create(user=device_owner, name="backup")
    attempt = AccessAttempt.objects.create(username="x", ip_address="10.0.0.1", user_agent="t", failures_since_start=1,
                                           attempt_time=timezone.now(), get_data="", post_data="")
    access_log = AccessLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t", attempt_time=timezone.now())
    failure = AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t", attempt_time=timezone.now(),
                                              locked_out=False)
    channel = AlertChannelFactory()
    rule = AlertRuleFactory(channels=[channel])
    alert = Alert.objects.create(rule=rule, rule_name=rule.name, scope="queue:support", queue=queue, metric=rule.metric,
                                 operator=rule.operator, threshold=rule.threshold, severity=rule.severity, value=90)
    delivery = AlertDelivery.objects.create(alert=alert, channel=channel, event="fired", status="sent")
    ids = {
        "alert": alert.pk, "alert_rule": rule.pk, "alert_channel": channel.pk,
        "conference": conference.conference_id, "call": call.call_control_id, "queue": queue.name,
        "queued_call": queued.call_control_id, "recording": recording.recording_id, "recording_pk": recording.pk,
        "command": command.pk, "event": event.pk, "audit": entry.pk,
    }
    admin_objects = {
        "auth.group": Group.objects.get(name="Viewer").pk, "auth.user": users["Viewer"].pk, "portal.apitoken": token.pk,
        "accounts.companyidentity": identity.pk, "otp_totp.totpdevice": totp.pk, "otp_static.staticdevice": static.pk,
        "axes.accessattempt": attempt.pk, "axes.accesslog": access_log.pk, "axes.accessfailurelog": failure.pk,
        "portal.command": command.pk, "audit.auditentry": entry.pk, "webhooks.webhookevent": event.pk,
        "conferencing.conference": conference.pk, "conferencing.participant": participant.pk, "queues.queue": queue.pk,
        "queues.queuedcall": queued.pk, "calls.call": call.pk, "recordings.recording": recording.pk,
        "recordings.transcription": transcription.pk, "alerts.alert": alert.pk, "alerts.alertrule": rule.pk,
        "alerts.alertchannel": channel.pk, "alerts.alertdelivery": delivery.pk,
    }
    return {"users": users, "ids": ids, "admin": admin_objects}


def client_for(sample, role: str) -> Client:
    """One signed-in client per role and test (signing in is most of a request's cost here)."""
    clients = sample.setdefault("clients", {})
    if role not in clients:
        clients[role] = Client()
        if role != "anonymous":
            clients[role].force_login(sample["users"][role])
    return clients[role]


def fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def send(client, method: str, path: str, data):
    if path.startswith("/api/"):
        body = json.dumps(data) if data is not None else None
        return getattr(client, method.lower())(path, body, content_type="application/json") if body else getattr(client, method.lower())(path)
    return getattr(client, method.lower())(path, data or {})


def outcome(response, role: str) -> str:
    """allowed / denied as the role sees it; a 5xx is never acceptable (but /readyz's "not ready")."""
    not_ready = response.status_code == 503 and response.wsgi_request.path == "/readyz"
    assert response.status_code < 500 or not_ready, f"{response.status_code} for {role}"
    location = response.headers.get("Location", "")
    if response.status_code in DENIED or (response.status_code == 302 and "login/" in location):
        return "denied"
    return "allowed"


# --- completeness: a route, admin model or action without a rule fails --------------------------------

def test_every_route_of_the_url_configuration_has_a_rule():
    unruled, api_methods = [], {}
    for pattern, callback in url_patterns():
        if is_format_variant(pattern) or admin_model_pattern(pattern):
            continue
        if pattern not in ROUTES:
            unruled.append(pattern)
        elif getattr(callback, "actions", None):  # a DRF viewset route: its methods are known
            # HEAD follows GET (DRF maps it on the shared actions once a view has run): not a rule of its own.
            api_methods[pattern] = {m.upper() for m in callback.actions} - {"HEAD"}
    assert unruled == [], f"routes with no rule in tests/portal/roles_table.py: {unruled}"
    assert {p: set(ROUTES[p]) for p in api_methods} == api_methods, "every API method needs a rule"
    stale = set(ROUTES) - {p for p, _ in url_patterns()}
    assert stale == set(), f"rules for routes that no longer exist: {stale}"


def test_every_admin_model_and_action_has_a_rule():
    assert {m._meta.label_lower for m in admin.site._registry} == set(ADMIN_MODELS)
    declared = {a.name for a in actions.all_actions()}
    assert declared == SUPERVISE_ACTIONS | MANAGE_ACTIONS | CONTROL_ACTIONS
    assert not (SUPERVISE_ACTIONS & MANAGE_ACTIONS or SUPERVISE_ACTIONS & CONTROL_ACTIONS or MANAGE_ACTIONS & CONTROL_ACTIONS)


# --- pages and API --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "method"), [(p, m) for p, rules in ROUTES.items() for m in rules])
def test_route_allows_exactly_the_roles_of_its_row(sample, pattern, method):
    row, path, data = ROUTES[pattern][method]
    path, data = fill(path, sample["ids"]), fill(data, sample["ids"])
    seen = {role: outcome(send(client_for(sample, role), method, path, data), role) for role in ROLES}
    assert seen == {role: "allowed" if role in ROWS[row] else "denied" for role in ROLES}, f"{method} {path} ({row})"


def test_admin_app_index_shows_to_roles_that_may_view_one_of_its_models(sample):
    apps = {model.split(".")[0] for model in ADMIN_MODELS}
    for app_label in sorted(apps):
        rows = [rules["view"] for model, rules in ADMIN_MODELS.items() if model.startswith(app_label + ".")]
        may = set().union(*(ROWS[row] for row in rows))
        for role in ROLES:
            response = client_for(sample, role).get(f"/admin/{app_label}/")
            if role == "anonymous":
                assert response.status_code == 302 and "/admin/login/" in response["Location"]
            else:
                assert response.status_code == (200 if role in may else 404), f"/admin/{app_label}/ for {role}"


# --- admin model views -------------------------------------------------------------------------------

ADMIN_VIEWS = [("view", "GET", ""), ("view", "GET", "{pk}/history/"), ("add", "GET", "add/"),
               ("change", "POST", "{pk}/change/"), ("delete", "GET", "{pk}/delete/")]


@pytest.mark.parametrize("model", sorted(ADMIN_MODELS))
def test_admin_views_allow_exactly_the_roles_of_their_row(sample, model):
    app_label, model_name = model.split(".")
    pk = sample["admin"][model]
    for permission, method, suffix in ADMIN_VIEWS:
        path = f"/admin/{app_label}/{model_name}/" + suffix.format(pk=pk)
        expected = {role: "allowed" if role in ROWS[ADMIN_MODELS[model][permission]] else "denied" for role in ROLES}
        seen = {}
        for role in ROLES:
            response = send(client_for(sample, role), method, path, {})
            # Strict here: the admin answers an allowed view with its page (200), never a redirect.
            seen[role] = "allowed" if outcome(response, role) == "allowed" and response.status_code == 200 else "denied"
            assert response.status_code in (200, 302, 403), f"{method} {path} for {role}: {response.status_code}"
        assert seen == expected, f"{method} {path} ({permission})"


def test_admin_bulk_actions_are_offered_exactly_to_the_roles_that_may_issue_them(sample):
    factory = RequestFactory()
    for model, model_admin in admin.site._registry.items():
        for role in ROLES[1:]:
            request = factory.get("/admin/")
            request.user = sample["users"][role]
            offered = {getattr(func, "command_action_name", None) for func, _, _ in model_admin.get_actions(request).values()}
            offered.discard(None)
            for name in offered:
                assert role in ROWS[action_row(name)], f"{model._meta.label}: {name} offered to {role}"
            declared = {getattr(a, "command_action_name", None) for a in model_admin.actions or [] if callable(a)} - {None}
            assert offered == {n for n in declared if role in ROWS[action_row(n)]}, f"{model._meta.label} for {role}"


# --- actions through every door ----------------------------------------------------------------------

def action_row(name: str) -> str:
    return "supervise" if name in SUPERVISE_ACTIONS else "manage" if name in MANAGE_ACTIONS else "control"


def door_paths(action, ids) -> list[str]:
    kind = actions.kind(action.target_kind)
    if actions.action_for(kind, action.short_name) is None:
        return []  # not addressed through the action door (conference.create: its own routes, above)
    target = {"conference": ids["conference"], "call": ids["call"], "queue": ids["queue"], "recording": ids["recording"]}[kind.name]
    return [f"/api/v1/{kind.plural}/{target}/actions/{action.short_name}/", f"/{kind.plural}/{target}/actions/{action.short_name}/"]


@pytest.mark.parametrize("name", sorted(SUPERVISE_ACTIONS | MANAGE_ACTIONS | CONTROL_ACTIONS))
def test_action_allows_exactly_the_roles_of_its_row_through_page_and_api(sample, name):
    from portal.commands.services import ensure_permission

    action = actions.get(name)
    expected = {role: "allowed" if role in ROWS[action_row(name)] else "denied" for role in ROLES}
    for path in door_paths(action, sample["ids"]):
        seen = {role: outcome(send(client_for(sample, role), "POST", path, {}), role) for role in ROLES}
        assert seen == expected, f"POST {path}"
    # The service every door calls, asked directly (the admin's bulk actions call it too).
    for role in ROLES[1:]:
        try:
            ensure_permission(sample["users"][role], action, {})
            assert expected[role] == "allowed", f"{name} allowed to {role}"
        except Exception as exc:  # noqa: BLE001 - PermissionDenied expected only for denied roles
            assert expected[role] == "denied" and type(exc).__name__ == "PermissionDenied", (name, role, exc)


@pytest.mark.parametrize("name", sorted(SUPERVISOR_ROLE_PARAMS))
def test_joining_with_a_supervisor_role_needs_the_supervise_row(sample, name):
    action = actions.get(name)
    params = fill(SUPERVISOR_ROLE_PARAMS[name], sample["ids"])
    api_path = door_paths(action, sample["ids"])[0]
    seen = {role: outcome(send(client_for(sample, role), "POST", api_path, params), role) for role in ROLES}
    assert seen == {role: "allowed" if role in ROWS["supervise"] else "denied" for role in ROLES}
