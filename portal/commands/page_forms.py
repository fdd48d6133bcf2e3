"""Where a target's page draws its action forms, and how each form reads: all from the declarations (issue 27, 31).

A target kind lists its panels (`TargetKind.form_groups`); each action names its panel (`Action.group`),
the fields a person came for (`Action.fields`, drawn first) and their labels (`Action.labels`). Every other
parameter goes under "More options". An ended call or conference shows no forms (issue 26).
"""
from __future__ import annotations

from rest_framework import serializers

from portal.commands import actions
from portal.commands.forms import field_specs

# How a person names the parameters many actions share; an action's own `labels` win.
FIELD_LABELS = {
    "call_control_id": "Call leg",
    "call_control_ids": "Participants",
    "participant_id": "Participant",
    "whisper_call_control_ids": "Heard by (when whispering)",
    "client_state": "Client state (base64)",
    "digits": "Digits",
    "payload": "Text to speak",
    "payload_type": "Text or SSML",
    "audio_url": "Audio URL",
    "media_name": "Media name (uploaded to Telnyx)",
    "supervisor_role": "Role",
    "beep_enabled": "Beep",
    "region": "Region",
    "loop": "Repeat",
    "to": "Number or SIP address",
    "from": "Caller id",
    "queue_name": "Queue",
    "max_size": "Most callers in line",
    "format": "File format",
    "channels": "Channels",
    "play_beep": "Play a beep first",
    "duration_millis": "Digit length (ms)",
    "custom_file_name": "File name",
    "recording_id": "Recording id",
}
EVERYONE = "Empty means everyone in the conference."


def api_only(action: actions.Action) -> set[str]:
    """Parameters a page form cannot draw (lists of objects): the API takes them."""
    return {
        name for name, field in action.params().fields.items()
        if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.DictField)
    }


def form_layout(action: actions.Action, hidden: set[str] | None = None) -> dict:
    """One action's form: {"action", "fields" (a person's fields, in order), "more" (the rest)}."""
    specs = field_specs(action, hidden=(hidden or set()) | api_only(action) or None)
    for spec in specs:
        spec["label"] = action.labels.get(spec["name"]) or FIELD_LABELS.get(spec["name"]) or spec["label"]
        if spec["name"] == "call_control_ids" and not spec["required"] and action.target_kind == "conference":
            spec["help_text"] = EVERYONE
    main_names = list(action.fields) or [s["name"] for s in specs if s["required"]]
    by_name = {s["name"]: s for s in specs}
    main = [by_name[n] for n in main_names if n in by_name]
    more = [s for s in specs if s["name"] not in main_names]
    return {"action": action, "fields": main, "more": more}


def may_issue(user, action: actions.Action) -> bool:
    return all(user.has_perm(p) for p in action.permissions_for({}))


def page_form_groups(kind_name: str, user, target=None) -> list[dict]:
    """The panels of forms a target's page draws for `user`: [{"key", "title", "open", "forms"}].

    Nothing when the target no longer takes commands (an ended call or conference).
    """
    kind = actions.kind(kind_name)
    if kind is None or (target is not None and kind.takes_commands and not kind.takes_commands(target)):
        return []
    allowed = [a for a in actions.for_kind(kind_name) if a.on_page and may_issue(user, a)]
    groups = []
    for key, title, open_ in kind.form_groups:
        forms_in = [form_layout(a) for a in allowed if a.group == key]
        if forms_in:
            groups.append({"key": key, "title": title, "open": open_, "forms": forms_in})
    return groups


def page_forms(kind_name: str, user, target=None) -> list[dict]:
    """The same forms as one flat list, in panel order."""
    return [form for group in page_form_groups(kind_name, user, target) for form in group["forms"]]
