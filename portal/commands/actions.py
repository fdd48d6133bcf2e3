"""Action declarations: one per Telnyx command, from which the API, page forms and admin actions derive."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rest_framework import serializers


class NoParams(serializers.Serializer):
    """An action that takes nothing but its target."""


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
        """Validated parameters without empty optionals; raises serializers.ValidationError."""
        serializer = self.params(data=data)
        serializer.is_valid(raise_exception=True)
        return {k: v for k, v in serializer.validated_data.items() if v is not None and v != "" and v != []}


_REGISTRY: dict[str, Action] = {}


def register(*actions: Action) -> None:
    for action in actions:
        if action.name in _REGISTRY and _REGISTRY[action.name] is not action:
            raise ValueError(f"action {action.name} declared twice")
        _REGISTRY[action.name] = action


def get(name: str) -> Action | None:
    return _REGISTRY.get(name)


def for_kind(target_kind: str) -> list[Action]:
    return [a for a in _REGISTRY.values() if a.target_kind == target_kind]


def all_actions() -> list[Action]:
    return list(_REGISTRY.values())
