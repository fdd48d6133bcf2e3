"""Action declarations: one per Telnyx command, from which the API, page forms and admin actions derive.

Each app declares its actions (and the kinds of target they act on) in `<app>/actions.py`; the bus
imports those modules itself the first time it is asked, as the webhook registry does with handlers.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import autodiscover_modules
from rest_framework import serializers


class NoParams(serializers.Serializer):
    """An action that takes nothing but its target."""


UNKNOWN_PARAMETER = "Unknown parameter: this action does not take it."


def undeclared_params(serializer: serializers.Serializer, data, prefix: str = "") -> list[str]:
    """Names in `data` (dotted for nested objects) that `serializer` does not declare."""
    if not hasattr(data, "keys"):
        return []  # not an object: the serializer itself says so
    fields = serializer.fields
    unknown = [f"{prefix}{name}" for name in data.keys() if name not in fields]
    for name, declared in fields.items():
        value = data.get(name)
        if isinstance(declared, serializers.Serializer):
            unknown += undeclared_params(declared, value, f"{prefix}{name}.")
        elif isinstance(declared, serializers.ListSerializer) and isinstance(value, list):
            for index, item in enumerate(value):
                unknown += undeclared_params(declared.child, item, f"{prefix}{name}.{index}.")
    return unknown


@dataclass(frozen=True)
class Action:
    """One Telnyx command the portal can issue.

    `params` validates and documents the body (the fields endpoints.md lists, nothing else);
    `target_param` is the SDK's path argument; `on_success(command, response)` applies local state that
    Telnyx reports by no webhook; `idempotent` says a timeout or 5xx may be retried without harm.
    """

    name: str
    sdk: str
    label: str
    permission: str
    target_kind: str
    target_param: str | None
    params: type[serializers.Serializer] = NoParams
    accepts_command_id: bool = False
    idempotent: bool = False
    destructive: bool = False
    on_success: Callable | None = None
    # Some parameters need more than `permission` (e.g. joining as a supervisor): params -> permission.
    extra_permission: Callable[[dict], str | None] | None = None
    description: str = ""
    # Extra options for pages: which fields pick participants, etc.
    form_hints: dict = field(default_factory=dict)
    # Where the page draws its form: "media", "recording", "streaming", "advanced", ... ("" = main).
    group: str = ""
    # Parameters never echoed back (pages, logs, API): stored masked on the command row.
    secret_params: tuple[str, ...] = ()
    # Form/API parameter name -> the SDK's keyword, where they differ (e.g. conference_id -> id).
    sdk_names: dict = field(default_factory=dict)
    # Portal-side parameters (e.g. a "force" flag): validated and recorded on the command, never sent to Telnyx.
    local_params: tuple[str, ...] = ()
    # A rule about the target itself that every door enforces before anything is queued (e.g. "no callers
    # waiting"): check(target, params) raises serializers.ValidationError.
    check: Callable[[str, dict], None] | None = None
    # Where the SDK's keywords are more than renamed parameters (a dial names its connection, caller id and
    # what it is for: portal/dialing.py): request(command, kwargs) -> the keywords sent.
    request: Callable[[object, dict], dict] | None = None
    # Page forms (issue 31): the fields a person came for, in order (empty: the required ones); every
    # other field is drawn under "More options". `labels` names fields as a person would.
    fields: tuple[str, ...] = ()
    labels: dict = field(default_factory=dict)
    # What the command did, in words (issue 31): describe(command) -> "Muted everyone", "Took ... out of ...".
    describe: Callable[[object], str] | None = None
    # False for an action whose form is drawn elsewhere (the queue board's "Create queue", a row's button).
    on_page: bool = True

    def permissions_for(self, params: dict) -> list[str]:
        """Every permission issuing this action with these parameters requires."""
        extra = self.extra_permission(params) if self.extra_permission else None
        return [self.permission, extra] if extra else [self.permission]

    @property
    def retry_safe(self) -> bool:
        """Whether an attempt whose outcome is unknown may be sent again."""
        return self.accepts_command_id or self.idempotent

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]

    def validate(self, data: dict) -> dict:
        """Validated parameters without empty optionals; raises serializers.ValidationError.

        A parameter the declaration does not name is refused, not dropped: a typo such as
        `call_control_id` for `call_control_ids` on unmute would otherwise widen the action to the
        whole conference (issue 30), and Telnyx itself answers 422 to an unknown parameter.
        """
        unknown = undeclared_params(self.params(), data)
        if unknown:
            raise serializers.ValidationError({name: [UNKNOWN_PARAMETER] for name in unknown})
        serializer = self.params(data=data)
        serializer.is_valid(raise_exception=True)
        return {k: v for k, v in serializer.validated_data.items() if v is not None and v != "" and v != []}


@dataclass(frozen=True)
class TargetKind:
    """A kind of thing actions act on (conference, call, queue, recording), as pages and the API address it.

    `plural` is the URL segment of both doors (`/<plural>/<id>/actions/<action>/` and the same under
    `/api/v1/`); `lookup_field` on `model` finds the target by the id Telnyx uses.
    """

    name: str
    plural: str
    model: type
    lookup_field: str
    view_permission: str
    detail_url_name: str | None = None
    # The live group of one target's page when "<name>.<target>" is not a valid group name (call ids hold ':').
    group_of: Callable[[str], str | None] | None = None
    # The panels of a target's page, in order: (group, title, open). An action is placed in the panel its
    # `group` names; one whose group is not listed has no form on the page.
    form_groups: tuple[tuple[str, str, bool], ...] = ()
    # Whether a target still takes commands (an ended call or conference shows no forms, issue 26).
    takes_commands: Callable[[object], bool] | None = None
    # A target as a person knows it (a caller's number, a conference's name): label_of(target) -> str.
    label_of: Callable[[str], str] | None = None

    def live_group(self, target: str) -> str | None:
        """The group an open page of `target` listens to, or None."""
        return self.group_of(target) if self.group_of else f"{self.name}.{target}"

    def find(self, target: str):
        """The local row for `target`, or None."""
        return self.model._default_manager.filter(**{self.lookup_field: target}).first()

    def target_of(self, obj) -> str:
        return str(getattr(obj, self.lookup_field))

    def detail_url(self, target: str) -> str | None:
        if not self.detail_url_name:
            return None
        try:
            return reverse(self.detail_url_name, args=[target])
        except NoReverseMatch:
            return None


_REGISTRY: dict[str, Action] = {}
_KINDS: dict[str, TargetKind] = {}
_discovered = False
_discovering = threading.RLock()


def _discover() -> None:
    """Import every installed app's `actions` module once (they call register / register_kind)."""
    global _discovered
    if _discovered:
        return
    with _discovering:
        if not _discovered:
            _discovered = True
            autodiscover_modules("actions")


def register(*actions: Action) -> None:
    for action in actions:
        if action.name in _REGISTRY and _REGISTRY[action.name] is not action:
            raise ValueError(f"action {action.name} declared twice")
        _REGISTRY[action.name] = action


def register_kind(kind: TargetKind) -> TargetKind:
    if kind.name in _KINDS and _KINDS[kind.name] != kind:
        raise ValueError(f"target kind {kind.name} declared twice")
    _KINDS[kind.name] = kind
    return kind


def get(name: str) -> Action | None:
    _discover()
    return _REGISTRY.get(name)


def for_kind(target_kind: str) -> list[Action]:
    _discover()
    return [a for a in _REGISTRY.values() if a.target_kind == target_kind]


def all_actions() -> list[Action]:
    _discover()
    return list(_REGISTRY.values())


def kind(name: str) -> TargetKind | None:
    _discover()
    return _KINDS.get(name)


def kind_by_plural(plural: str) -> TargetKind | None:
    _discover()
    return next((k for k in _KINDS.values() if k.plural == plural), None)


def all_kinds() -> list[TargetKind]:
    _discover()
    return list(_KINDS.values())


def action_for(kind_: TargetKind, short_name: str) -> Action | None:
    """The action `<kind>.<short_name>` if it acts on that kind."""
    action = get(f"{kind_.name}.{short_name}")
    return action if action is not None and action.target_kind == kind_.name else None
