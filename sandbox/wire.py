"""What a sandbox command gives back besides its answer: webhooks to emit, Telnyx-shaped errors, timestamps."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class Emit:
    """A webhook the command causes, sent `delay` seconds (times the world's pace) later."""

    event_type: str
    payload: dict
    delay: float = 0.0


class NotFound(Exception):
    def __init__(self, kind: str, key: str):
        super().__init__(f"{kind} {key!r} was not found.")
        self.kind, self.key = kind, key


class Unprocessable(Exception):
    def __init__(self, field: str, detail: str, code: str = "90018"):
        super().__init__(detail)
        self.field, self.detail, self.code = field, detail, code


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime | None = None) -> str:
    return (moment or now()).isoformat().replace("+00:00", "Z")


def parse_stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def fresh_seed() -> int:
    """A seed for a run nobody asked to repeat."""
    return secrets.randbits(32)
