"""What a command did, in a person's words (issue 31): "Muted +1 555 0123 in Support" rather than "conference.mute".

Each declaration may say it (`Action.describe(command)`); otherwise its label and its target's name do.
Target kinds name their targets (`TargetKind.label_of`).
"""
from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar

from portal.commands import actions

log = logging.getLogger(__name__)
# Names looked up while one page renders: a timeline of a hundred commands on one conference asks its name
# once, not a hundred times (the bench's pages part saw the query count grow with the data).
_names: ContextVar[dict | None] = ContextVar("command_words_names", default=None)


@contextlib.contextmanager
def names_scope():
    """Remember the names looked up from here to the end of the block (one request: WordsScopeMiddleware)."""
    token = _names.set({})
    try:
        yield
    finally:
        _names.reset(token)


def remembered(key: tuple, look_up):
    """`look_up()`, once per key within a names scope; every time outside one (a toast rendered by a worker)."""
    names = _names.get()
    if names is None:
        return look_up()
    if key not in names:
        names[key] = look_up()
    return names[key]


class WordsScopeMiddleware:
    """One names scope per request, so the words of a page's commands cost a query per name, not per line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with names_scope():
            return self.get_response(request)


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
