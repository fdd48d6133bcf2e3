"""What a command did, in a person's words (issue 31): "Muted +1 555 0123 in Support" rather than "conference.mute".

Each declaration may say it (`Action.describe(command)`); otherwise its label and its target's name do.
Target kinds name their targets (`TargetKind.label_of`).
"""
from __future__ import annotations

import logging

from portal.commands import actions

log = logging.getLogger(__name__)


def target_label(kind_name: str, target: str) -> str:
    """A target as a person knows it (a caller's number, a conference's name), else its id."""
    kind = actions.kind(kind_name)
    if kind is not None and kind.label_of is not None and target:
        try:
            return kind.label_of(target) or target
        except Exception:  # noqa: BLE001 - words are a courtesy: never fail a page or a toast for them
            log.warning("could not name %s %s", kind_name, target, exc_info=True)
    return target


def command_words(command) -> str:
    """What `command` does, in words: the declaration's own description, or its label and target."""
    action = actions.get(command.action)
    if action is None:
        return command.action
    if action.describe is not None:
        try:
            return action.describe(command)
        except Exception:  # noqa: BLE001 - as above
            log.warning("could not describe command %s", command.pk, exc_info=True)
    return attempt_words(command)


def attempt_words(command) -> str:
    """What was attempted, for a command that did not happen: "Start recording: Support huddle"."""
    action = actions.get(command.action)
    if action is None:
        return command.action
    return f"{action.label}: {target_label(action.target_kind, command.target)}" if command.target else action.label


def command_target_url(command) -> str | None:
    """The page of the command's target, if it has one."""
    action = actions.get(command.action)
    kind = actions.kind(action.target_kind) if action else None
    return kind.detail_url(command.target) if kind and command.target else None
