"""README's "Roles" table as data: the permission matrix tests check every door against it (issue 24).

Each rule names a row of the table; a row names the roles it allows. Change README and this file together.
"""
ROLES = ["anonymous", "Viewer", "Operator", "Supervisor", "Administrator"]
SIGNED_IN = {"Viewer", "Operator", "Supervisor", "Administrator"}

# README "Roles": "may..." -> the roles with a tick.
ROWS: dict[str, set[str]] = {
    "public": set(ROLES),  # no sign-in: health, sign-in itself, Telnyx's webhook (signature-checked)
    "signed_in": SIGNED_IN,  # any signed-in staff member (password, API docs, the admin's frame)
    "read": SIGNED_IN,  # "see every page live, the API's reads, the admin (read)"
    "control": {"Operator", "Supervisor", "Administrator"},  # "control conferences, queues and calls; retry; re-process"
    "supervise": {"Supervisor", "Administrator"},  # "monitor / whisper / barge; stream or fork a call's audio"
    "listen": {"Supervisor", "Administrator"},  # "listen to and download recordings"
    "manage": {"Administrator"},  # "create / delete queues, change max size and service level, delete recordings"
    "users": {"Administrator"},  # "manage users and API tokens; see and lift sign-in lockouts"
    "system": {"Administrator"},  # "see the System page"
    "audit": {"Administrator"},  # "see the Audit page and GET /api/v1/audit/"
    "acknowledge": {"Operator", "Supervisor", "Administrator"},  # "acknowledge alerts"
    "alerting": {"Administrator"},  # "manage alert rules and channels; send a test; see deliveries"
    "nobody": set(),  # no role, Administrators included (append-only or read-only rows)
}

# Pages and API routes: URL pattern -> {method: (row, path, data)}. `path` is formatted with the sample
# objects' ids (tests/portal/test_permission_matrix.py). Every pattern of the URL configuration needs a
# rule here (format-suffix variants of an API route share their route's rule).
ROUTES: dict[str, dict[str, tuple]] = {
    "favicon.ico": {"GET": ("public", "/favicon.ico", None)},
    "": {"GET": ("read", "/", None)},
    "healthz": {"GET": ("public", "/healthz", None)},
    "readyz": {"GET": ("public", "/readyz", None)},
    "metrics": {"GET": ("public", "/metrics", None)},  # loopback or token: not a role's matter
    "system/": {"GET": ("system", "/system/", None)},
    "system/panel/": {"GET": ("system", "/system/panel/", None)},
    "login/": {"GET": ("public", "/login/", None)},
    # Two factors (a session that still owes its code reaches these and nothing else) and company sign-in.
    "login/verify/": {"GET": ("signed_in", "/login/verify/", None)},
    "account/two-factor/": {"GET": ("signed_in", "/account/two-factor/", None)},
    "account/two-factor/enrol/": {"GET": ("signed_in", "/account/two-factor/enrol/", None)},
    "account/two-factor/recovery-codes/": {"POST": ("signed_in", "/account/two-factor/recovery-codes/", {})},
    "oidc/authenticate/": {"GET": ("public", "/oidc/authenticate/", None)},
    "oidc/callback/": {"GET": ("public", "/oidc/callback/", None)},
    "logout/": {"POST": ("signed_in", "/logout/?next=/healthz", {})},  # not sent to /login/: that would read as refused
    "password/": {"GET": ("signed_in", "/password/", None)},
    "password/done/": {"GET": ("signed_in", "/password/done/", None)},
    "commands/": {"GET": ("read", "/commands/", None)},
    "commands/<int:pk>/": {"GET": ("read", "/commands/{command}/", None)},
    "commands/<int:pk>/retry/": {"POST": ("control", "/commands/{command}/retry/", {})},
    # The action door: the matrix of actions below covers every declared action through it.
    "<str:plural>/<str:target>/actions/<str:action>/": {"POST": ("control", "/conferences/{conference}/actions/mute/", {})},
    "webhooks/telnyx/": {"POST": ("public", "/webhooks/telnyx/", {})},
    "events/": {"GET": ("read", "/events/", None)},
    "events/<int:pk>/": {"GET": ("read", "/events/{event}/", None)},
    "conferences/": {"GET": ("read", "/conferences/", None)},
    "conferences/new/": {"GET": ("control", "/conferences/new/", None)},
    "conferences/sync/": {"POST": ("control", "/conferences/sync/", {})},
    "conferences/<str:conference_id>/": {"GET": ("read", "/conferences/{conference}/", None)},
    "conferences/<str:conference_id>/live/": {"GET": ("read", "/conferences/{conference}/live/", None)},
    "conferences/<str:conference_id>/timeline/": {"GET": ("read", "/conferences/{conference}/timeline/", None)},
    "conferences/<str:conference_id>/recordings/": {"GET": ("read", "/conferences/{conference}/recordings/", None)},
    "conferences/<str:conference_id>/controls/": {"GET": ("read", "/conferences/{conference}/controls/", None)},
    "calls/": {"GET": ("read", "/calls/", None)},
    "calls/<str:call_control_id>/": {"GET": ("read", "/calls/{call}/", None)},
    "calls/<str:call_control_id>/live/": {"GET": ("read", "/calls/{call}/live/", None)},
    "calls/<str:call_control_id>/timeline/": {"GET": ("read", "/calls/{call}/timeline/", None)},
    "calls/<str:call_control_id>/heard/": {"GET": ("read", "/calls/{call}/heard/", None)},
    "calls/<str:call_control_id>/links/": {"GET": ("read", "/calls/{call}/links/", None)},
    "calls/<str:call_control_id>/listen-in/": {"POST": ("supervise", "/calls/{call}/listen-in/", {"to": "+15550001234", "role": "monitor"})},
    "queues/": {"GET": ("read", "/queues/", None), "POST": ("manage", "/queues/", {"queue_name": "new-q"})},
    "wallboard/queues/": {"GET": ("read", "/wallboard/queues/", None)},
    "queues/<path:name>/": {"GET": ("read", "/queues/{queue}/", None)},
    "queues/<path:name>/live/": {"GET": ("read", "/queues/{queue}/live/", None)},
    "queues/<path:name>/settings/": {"POST": ("manage", "/queues/{queue}/settings/", {"service_level_target_secs": "30"})},
    "recordings/": {"GET": ("read", "/recordings/", None)},
    "recordings/zip/": {"POST": ("listen", "/recordings/zip/", {"pk": ["{recording_pk}"]})},
    "recordings/delete/": {"POST": ("manage", "/recordings/delete/", {"pk": ["{recording_pk}"]})},
    "recordings/<str:recording_id>/": {"GET": ("read", "/recordings/{recording}/", None)},
    "recordings/<str:recording_id>/live/": {"GET": ("read", "/recordings/{recording}/live/", None)},
    "recordings/<str:recording_id>/audio/": {"GET": ("listen", "/recordings/{recording}/audio/", None)},
    "recordings/<str:recording_id>/redownload/": {"POST": ("listen", "/recordings/{recording}/redownload/", {})},
    "audit/": {"GET": ("audit", "/audit/", None)},
    "alerts/": {"GET": ("read", "/alerts/", None)},
    "alerts/banner/": {"GET": ("read", "/alerts/banner/", None)},
    "alerts/rules/": {"GET": ("read", "/alerts/rules/", None)},
    "alerts/rules/new/": {"GET": ("alerting", "/alerts/rules/new/", None), "POST": ("alerting", "/alerts/rules/new/", {})},
    "alerts/rules/<int:pk>/edit/": {
        "GET": ("alerting", "/alerts/rules/{alert_rule}/edit/", None),
        "POST": ("alerting", "/alerts/rules/{alert_rule}/edit/", {}),
    },
    "alerts/rules/<int:pk>/enabled/": {"POST": ("alerting", "/alerts/rules/{alert_rule}/enabled/", {"enabled": "false"})},
    # GET asks for confirmation; POST (last, by the Administrator) deletes.
    "alerts/rules/<int:pk>/delete/": {
        "GET": ("alerting", "/alerts/rules/{alert_rule}/delete/", None),
        "POST": ("alerting", "/alerts/rules/{alert_rule}/delete/", {}),
    },
    "alerts/channels/new/": {
        "GET": ("alerting", "/alerts/channels/new/", None), "POST": ("alerting", "/alerts/channels/new/", {}),
    },
    "alerts/channels/<int:pk>/edit/": {
        "GET": ("alerting", "/alerts/channels/{alert_channel}/edit/", None),
        "POST": ("alerting", "/alerts/channels/{alert_channel}/edit/", {}),
    },
    "alerts/channels/<int:pk>/delete/": {
        "GET": ("alerting", "/alerts/channels/{alert_channel}/delete/", None),
        "POST": ("alerting", "/alerts/channels/{alert_channel}/delete/", {}),
    },
    "alerts/channels/<int:pk>/test/": {"POST": ("alerting", "/alerts/channels/{alert_channel}/test/", {})},
    "alerts/<int:pk>/": {"GET": ("read", "/alerts/{alert}/", None)},
    "alerts/<int:pk>/acknowledge/": {"POST": ("acknowledge", "/alerts/{alert}/acknowledge/", {"note": "seen"})},
    "audit/export.csv": {"GET": ("audit", "/audit/export.csv", None)},
    # API
    "api/v1/": {"GET": ("signed_in", "/api/v1/", None)},
    "api/v1/schema/": {"GET": ("signed_in", "/api/v1/schema/", None)},
    "api/v1/docs/": {"GET": ("signed_in", "/api/v1/docs/", None)},
    "api/v1/<str:plural>/<str:target>/actions/<str:action>/": {
        "POST": ("control", "/api/v1/conferences/{conference}/actions/mute/", {}),
    },
    "api/v1/^commands/$": {"GET": ("read", "/api/v1/commands/", None)},
    "api/v1/^commands/(?P<pk>[^/.]+)/$": {"GET": ("read", "/api/v1/commands/{command}/", None)},
    "api/v1/^commands/(?P<pk>[^/.]+)/retry/$": {"POST": ("control", "/api/v1/commands/{command}/retry/", {})},
    "api/v1/^audit/$": {"GET": ("audit", "/api/v1/audit/", None)},
    "api/v1/^audit/(?P<pk>[^/.]+)/$": {"GET": ("audit", "/api/v1/audit/{audit}/", None)},
    "api/v1/^events/$": {"GET": ("read", "/api/v1/events/", None)},
    "api/v1/^events/(?P<pk>[^/]+)/$": {"GET": ("read", "/api/v1/events/{event}/", None)},
    "api/v1/^conferences/$": {
        "GET": ("read", "/api/v1/conferences/", None),
        "POST": ("control", "/api/v1/conferences/", {"call_control_id": "{call}", "name": "x"}),
    },
    "api/v1/^conferences/(?P<id>[^/]+)/$": {"GET": ("read", "/api/v1/conferences/{conference}/", None)},
    "api/v1/^conferences/(?P<id>[^/]+)/participants/$": {"GET": ("read", "/api/v1/conferences/{conference}/participants/", None)},
    "api/v1/^queues/$": {
        "GET": ("read", "/api/v1/queues/", None),
        "POST": ("manage", "/api/v1/queues/", {"queue_name": "new-q"}),
    },
    "api/v1/^queues/(?P<name>[^/]+)/$": {
        "GET": ("read", "/api/v1/queues/{queue}/", None),
        "PATCH": ("manage", "/api/v1/queues/{queue}/", {"service_level_target_secs": 30}),
        "DELETE": ("manage", "/api/v1/queues/{queue}/?force=true", None),
    },
    "api/v1/^queues/(?P<name>[^/]+)/calls/(?P<call_control_id>[^/]+)/$": {
        "PATCH": ("control", "/api/v1/queues/{queue}/calls/{queued_call}/", {"keep_after_hangup": True}),
        "DELETE": ("control", "/api/v1/queues/{queue}/calls/{queued_call}/", None),
    },
    "api/v1/^queues/(?P<name>[^/]+)/calls/$": {"GET": ("read", "/api/v1/queues/{queue}/calls/", None)},
    "api/v1/^queues/(?P<name>[^/]+)/metrics/$": {"GET": ("read", "/api/v1/queues/{queue}/metrics/", None)},
    "api/v1/^alert-rules/$": {
        "GET": ("read", "/api/v1/alert-rules/", None),
        "POST": ("alerting", "/api/v1/alert-rules/", {"name": "x", "metric": "failed_events", "threshold": 1}),
    },
    "api/v1/^alert-rules/(?P<pk>[^/.]+)/$": {
        "GET": ("read", "/api/v1/alert-rules/{alert_rule}/", None),
        "PATCH": ("alerting", "/api/v1/alert-rules/{alert_rule}/", {"threshold": 2}),
        "DELETE": ("alerting", "/api/v1/alert-rules/{alert_rule}/", None),
    },
    "api/v1/^alert-channels/$": {
        "GET": ("alerting", "/api/v1/alert-channels/", None),
        "POST": ("alerting", "/api/v1/alert-channels/", {"name": "c2", "kind": "email", "target": "a@ops.example"}),
    },
    "api/v1/^alert-channels/(?P<pk>[^/.]+)/$": {
        "GET": ("alerting", "/api/v1/alert-channels/{alert_channel}/", None),
        "PATCH": ("alerting", "/api/v1/alert-channels/{alert_channel}/", {"send_on_acknowledge": True}),
        "DELETE": ("alerting", "/api/v1/alert-channels/{alert_channel}/", None),
    },
    "api/v1/^alerts/$": {"GET": ("read", "/api/v1/alerts/", None)},
    "api/v1/^alerts/(?P<pk>[^/.]+)/$": {"GET": ("read", "/api/v1/alerts/{alert}/", None)},
    "api/v1/^alerts/(?P<pk>[^/.]+)/acknowledge/$": {
        "POST": ("acknowledge", "/api/v1/alerts/{alert}/acknowledge/", {"note": "seen"}),
    },
    "api/v1/^calls/$": {"GET": ("read", "/api/v1/calls/", None)},
    "api/v1/^calls/(?P<call_control_id>[^/]+)/$": {"GET": ("read", "/api/v1/calls/{call}/", None)},
    "api/v1/^recordings/$": {"GET": ("read", "/api/v1/recordings/", None)},
    "api/v1/^recordings/(?P<id>[^/]+)/$": {
        "GET": ("read", "/api/v1/recordings/{recording}/", None),
        "DELETE": ("manage", "/api/v1/recordings/{recording}/", None),
    },
    "api/v1/^recordings/(?P<id>[^/]+)/audio/$": {"GET": ("listen", "/api/v1/recordings/{recording}/audio/", None)},
    # The admin's own frame (its model views are ruled by ADMIN_MODELS below).
    "admin/": {"GET": ("signed_in", "/admin/", None)},
    "admin/login/": {"GET": ("public", "/admin/login/", None)},
    "admin/logout/": {"POST": ("signed_in", "/admin/logout/?next=/healthz", {})},
    "admin/password_change/": {"GET": ("signed_in", "/admin/password_change/", None)},
    "admin/password_change/done/": {"GET": ("signed_in", "/admin/password_change/done/", None)},
    # Asks for the view permission of the model it searches (here the groups of a user: Administrators).
    "admin/autocomplete/": {"GET": ("users", "/admin/autocomplete/?app_label=auth&model_name=user&field_name=groups", None)},
    "admin/jsi18n/": {"GET": ("signed_in", "/admin/jsi18n/", None)},
    "admin/r/<path:content_type_id>/<path:object_id>/": {"GET": ("signed_in", "/admin/r/0/0/", None)},
    "admin/(?P<url>.*)$": {"GET": ("signed_in", "/admin/nothing-here/", None)},
    # An app's index lists the models a role may view, and is 404 where there are none (ADMIN_MODELS).
    "admin/<app_label>/": {},
}

# Admin model views: "app.model" -> row for view (changelist, change page read-only, history), add,
# change (saving the change form) and delete.
ADMIN_MODELS: dict[str, dict[str, str]] = {
    "auth.group": {"view": "users", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "auth.user": {"view": "users", "add": "users", "change": "users", "delete": "users"},
    "portal.apitoken": {"view": "users", "add": "users", "change": "nobody", "delete": "users"},
    "accounts.companyidentity": {"view": "users", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "otp_totp.totpdevice": {"view": "users", "add": "nobody", "change": "nobody", "delete": "users"},
    "otp_static.staticdevice": {"view": "users", "add": "nobody", "change": "nobody", "delete": "users"},
    "axes.accessattempt": {"view": "users", "add": "nobody", "change": "nobody", "delete": "users"},
    "axes.accesslog": {"view": "nobody", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "axes.accessfailurelog": {"view": "users", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "portal.command": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "audit.auditentry": {"view": "audit", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "webhooks.webhookevent": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "conferencing.conference": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "conferencing.participant": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "queues.queue": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "queues.queuedcall": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "calls.call": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "recordings.recording": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    # No role holds recordings.view_transcription (only superusers see this admin): transcripts are voice-grade
    # content (issue 24); README's "the admin (read)" does not cover them.
    "recordings.transcription": {"view": "nobody", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "alerts.alert": {"view": "read", "add": "nobody", "change": "nobody", "delete": "nobody"},
    "alerts.alertrule": {"view": "read", "add": "alerting", "change": "alerting", "delete": "alerting"},
    "alerts.alertchannel": {"view": "alerting", "add": "alerting", "change": "alerting", "delete": "alerting"},
    "alerts.alertdelivery": {"view": "alerting", "add": "nobody", "change": "nobody", "delete": "nobody"},
}

# Declared actions -> row. Listening by another name (streaming, forking) and choosing a supervisor
# role are "supervise"; queue lifecycle and recording deletion are "manage"; the rest "control".
SUPERVISE_ACTIONS = {"call.streaming_start", "call.fork_start", "call.switch_supervisor_role", "conference.update",
                     "call.listen_in"}
MANAGE_ACTIONS = {"queue.create", "queue.delete", "queue.update", "recording.delete"}
CONTROL_ACTIONS = {
    "call.client_state_update", "call.enqueue", "call.fork_stop", "call.join_conference", "call.leave_queue",
    "call.playback_start", "call.playback_stop", "call.record_pause", "call.record_resume", "call.record_start",
    "call.record_stop", "call.send_dtmf", "call.siprec_start", "call.siprec_stop", "call.speak",
    "call.streaming_stop", "call.suppression_start", "call.suppression_stop", "call.transcription_start",
    "call.transcription_stop", "conference.create", "conference.end", "conference.gather_using_audio",
    "conference.hold", "conference.join", "conference.leave", "conference.mute", "conference.play",
    "conference.record_pause", "conference.record_resume", "conference.record_start", "conference.record_stop",
    "conference.send_dtmf", "conference.speak", "conference.stop", "conference.unhold", "conference.unmute",
    "conference.update_participant", "queue.remove_call", "queue.update_call",
    "call.hangup", "call.transfer", "call.bridge", "conference.dial_in",
}
# Joining with a supervisor role (monitor, whisper, barge) is supervising, whatever the action.
SUPERVISOR_ROLE_PARAMS = {"conference.join": {"call_control_id": "{call}", "supervisor_role": "barge"},
                          "call.join_conference": {"conference_id": "{conference}", "supervisor_role": "monitor"},
                          "conference.dial_in": {"to": "+15550001234", "supervisor_role": "whisper"}}

# Live groups, by the group's first dotted part ("admin" groups follow ADMIN_MODELS' view row).
GROUPS: dict[str, str] = {
    "dashboard": "read", "commands": "read", "events": "read", "conferences": "read", "conference": "read",
    "queues": "read", "queue": "read", "calls": "read", "call": "read", "recordings": "read", "recording": "read",
    "alerts": "read", "admin": "admin",
}

# Each declared action also has its own API route (issue 30: so that the schema documents its body); it
# answers as the generic door does, by the action's row. Unknown paths under /api/ are a JSON 404 for all.
_PLURALS = {"conference": "conferences", "call": "calls", "queue": "queues", "recording": "recordings"}


def _action_row(name: str) -> str:
    return "supervise" if name in SUPERVISE_ACTIONS else "manage" if name in MANAGE_ACTIONS else "control"


for _name in sorted((SUPERVISE_ACTIONS | MANAGE_ACTIONS | CONTROL_ACTIONS) - {"conference.create"}):
    _kind, _short = _name.split(".", 1)
    ROUTES[f"api/v1/{_PLURALS[_kind]}/<str:target>/actions/{_short}/"] = {
        "POST": (_action_row(_name), f"/api/v1/{_PLURALS[_kind]}/{{{_kind}}}/actions/{_short}/", {}),
    }
ROUTES["^api/(?P<unmatched>.*)$"] = {"GET": ("public", "/api/v1/nothing-here/", None)}
