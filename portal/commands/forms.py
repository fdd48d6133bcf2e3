"""Page forms derived from action declarations: describe fields, read posted values, issue."""
from __future__ import annotations

import re

from rest_framework import serializers

from portal.commands import actions, idempotency, services
from portal.models import Command


def field_specs(action: actions.Action, hidden: dict | None = None) -> list[dict]:
    """What a template needs to draw each parameter of `action` as a form field."""
    specs = []
    for name, field in action.params().fields.items():
        if hidden and name in hidden:
            continue
        kind = "text"
        choices = None
        if isinstance(field, serializers.BooleanField):
            kind = "checkbox"
        elif isinstance(field, serializers.ChoiceField):
            kind, choices = "select", list(field.choices.items())
        elif isinstance(field, serializers.IntegerField):
            kind = "number"
        elif isinstance(field, serializers.ListField):
            kind = "list"
        elif isinstance(field, serializers.DictField):
            continue  # structured settings are for the API
        elif isinstance(field, serializers.CharField) and (field.max_length or 0) > 500:
            kind = "textarea"
        if name in action.secret_params:
            kind = "password"  # typed unseen, never echoed back
        # DRF's list and dict fields start as [] / {}: drawn as "[]", that went to Telnyx as ["[]"].
        initial = field.initial if field.initial not in (None, serializers.empty, [], {}) else ""
        specs.append(
            {
                "name": name, "label": name.replace("_", " ").capitalize(), "kind": kind, "choices": choices,
                "required": field.required, "help_text": field.help_text or "", "initial": initial,
            }
        )
    return specs


TOKEN_FIELD = "idempotency_token"
# Posted by every form (CSRF, the one-time token) but no parameter of any action.
FORM_ONLY_FIELDS = ("csrfmiddlewaretoken", TOKEN_FIELD)


def params_from_post(action: actions.Action, post) -> dict:
    """Turn posted form values into the shape the action's serializer validates.

    A posted name the action does not declare is passed on as it came, so that validation refuses it
    with the same message as the API (issue 30), instead of being dropped here.
    """
    fields = action.params().fields
    params = {name: post.get(name) for name in post.keys() if name not in fields and name not in FORM_ONLY_FIELDS}
    for name, field in fields.items():
        if isinstance(field, serializers.BooleanField):
            if post.get(name) in ("on", "true", "1"):
                params[name] = True
            elif post.get(name) in ("false", "0"):
                params[name] = False
        elif isinstance(field, serializers.ListField):
            values = [v for raw in post.getlist(name) for v in re.split(r"[\s,]+", raw) if v]
            if values:
                params[name] = values
        elif post.get(name, "") != "":
            params[name] = post.get(name)
    return params


def issue_once_from_post(request, issue):
    """Run `issue` under the form's one-time token: (commands, replayed, errors).

    A second submit of the same rendered form (a double click, a resubmitted page) answers with the
    commands the first one issued and sends nothing; forms without a token simply issue.
    """
    token = request.POST.get(TOKEN_FIELD, "")
    if token and not idempotency.valid_key(token):
        return [], False, {"non_field_errors": ["This form's token is malformed: reload the page."]}
    body = {k: v for k, v in request.POST.lists() if k not in (TOKEN_FIELD, "csrfmiddlewaretoken")}
    try:
        commands, replayed = idempotency.once(
            user=request.user, key=f"form:{token}" if token else None,
            fingerprint=idempotency.fingerprint("POST", request.path, body), issue=issue,
        )
    except idempotency.KeyReused as exc:
        numbers = ", ".join(f"#{c.pk}" for c in exc.commands)
        return [], False, {"non_field_errors": [
            f"This form was already sent with other values (command {numbers}): reload the page to send it again."
        ]}
    except serializers.ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return [], False, {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return commands, replayed, None


def issue_from_post(request, action_name: str, target: str, door: str = Command.Door.PAGE):
    """Issue an action from a posted form: (command, None) or (None, {field: [messages]}).

    A repeat of the same form (its one-time token) returns the first command, marked `replayed`, and
    sends nothing. PermissionDenied from the service propagates (403), the same answer the admin and
    the API give.
    """
    action = actions.get(action_name)
    if action is None:
        return None, {"non_field_errors": [f"Unknown action {action_name}."]}
    try:
        commands, replayed, errors = issue_once_from_post(request, lambda: [services.command_issue(
            action_name=action_name, target=target, params=params_from_post(action, request.POST),
            user=request.user, door=door,
        )])
    except serializers.ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return None, {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    if errors:
        return None, errors
    command = commands[0]
    command.replayed = replayed
    return command, None
