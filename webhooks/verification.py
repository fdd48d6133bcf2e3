"""Ed25519 verification of Telnyx webhooks and validation of their envelope, before anything is stored."""
from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as NaclValueError
from nacl.signing import VerifyKey

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
# Telnyx's envelopes are a handful of levels deep; a body nested deeper is refused before anything
# recurses into it (json, the database adapter, templates): thousands of levels raised RecursionError (issue 23).
MAX_DEPTH = 64
# Escapes of what json.loads accepts but no database column holds: U+0000 (PostgreSQL's jsonb and text)
# and UTF-16 surrogates (a lone one has no UTF-8); only a body containing one is walked and cleaned.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


@dataclass
class WebhookRejected(Exception):
    """A delivery refused before storage; `reason` is a short stable code for the counters."""

    reason: str
    message: str
    status: int = 400


def _public_keys() -> tuple[VerifyKey, ...]:
    keys, problems = _decode_keys(settings.TELNYX_PUBLIC_KEY)
    if not keys:
        reason = problems[0] if problems else "TELNYX_PUBLIC_KEY is not set"
        raise WebhookRejected("misconfigured", f"{reason}; webhooks cannot be verified.", 500)
    return keys


@functools.lru_cache(maxsize=8)
def _decode_keys(configured: str) -> tuple[tuple[VerifyKey, ...], tuple[str, ...]]:
    """(the good keys, a sentence per malformed entry), decoded once per value, not on every delivery.

    A malformed entry is left out rather than failing every delivery: with a rotation under way the
    good key must keep verifying (issue 23). The sentences name the entry's place, never its text.
    """
    entries = [k.strip() for k in configured.split(",") if k.strip()]
    keys, problems = [], []
    for place, encoded in enumerate(entries, start=1):
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"TELNYX_PUBLIC_KEY entry {place} of {len(entries)} is not base64")
            continue
        try:
            keys.append(VerifyKey(raw))
        except (NaclValueError, ValueError, TypeError):
            problems.append(f"TELNYX_PUBLIC_KEY entry {place} of {len(entries)} is not a 32-byte Ed25519 key")
    return tuple(keys), tuple(problems)


def public_key_problems() -> list[str]:
    """What is wrong with TELNYX_PUBLIC_KEY (empty when every entry is a key); /readyz reports it."""
    keys, problems = _decode_keys(settings.TELNYX_PUBLIC_KEY)
    if not keys and not problems:
        return ["TELNYX_PUBLIC_KEY is not set"]
    return list(problems)


def check_public_keys() -> list[str]:
    """Log each malformed TELNYX_PUBLIC_KEY entry as an error (at start); returns them.

    An unset key is not logged here: that is the documented state before webhooks are configured,
    and /readyz reports it.
    """
    problems = list(_decode_keys(settings.TELNYX_PUBLIC_KEY)[1])
    for problem in problems:
        log.error("%s", problem)
    return problems


def verify_signature(body: bytes, headers, *, now: float | None = None) -> None:
    """Check the signature over `timestamp|body` and the timestamp window; raise WebhookRejected if not."""
    signature_b64 = headers.get(SIGNATURE_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    if not signature_b64 or not timestamp:
        raise WebhookRejected("missing_headers", f"Missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header.")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejected("bad_base64", "Signature is not valid base64.") from exc
    if len(signature) != 64:
        raise WebhookRejected("bad_signature_length", "Signature must be 64 bytes.")
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise WebhookRejected("bad_timestamp", "Timestamp is not a Unix time in seconds.") from exc
    now = time.time() if now is None else now
    if abs(now - sent_at) > settings.WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookRejected("stale_timestamp", "Timestamp is too far from now.")
    message = timestamp.encode() + b"|" + body
    for key in _public_keys():
        try:
            key.verify(message, signature)
            return
        except BadSignatureError:
            continue
    raise WebhookRejected("signature_mismatch", "Signature does not match.")


def parse_envelope(body: bytes) -> dict:
    """Return the event's `data` object, accepting both the documented envelope and the bare form.

    Strict UTF-8 (Telnyx's encoding, and the raw body is stored as text); values no column can hold
    are cleaned in the parsed copy only (see _clean): the raw body is stored exactly as received.
    """
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")
        document = _DECODER.decode(text)
    except RecursionError as exc:
        raise WebhookRejected("too_deep", f"Body is nested more than {MAX_DEPTH} levels deep.") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected("malformed_body", "Body is not UTF-8 JSON.") from exc
    if not isinstance(document, dict):
        raise WebhookRejected("malformed_body", "Body is not a JSON object.")
    # Depth cannot exceed the number of brackets: most bodies skip the walk.
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH and _depth(document) > MAX_DEPTH:
        raise WebhookRejected("too_deep", f"Body is nested more than {MAX_DEPTH} levels deep.")
    if _UNSTORABLE_ESCAPE.search(body):
        document = _clean(document)
    data = document.get("data", document)
    if not isinstance(data, dict):
        raise WebhookRejected("malformed_body", "data is not an object.")
    event_id, event_type = data.get("id"), data.get("event_type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 100:
        raise WebhookRejected("malformed_body", "data.id is missing or invalid.")
    if not isinstance(event_type, str) or not event_type or len(event_type) > 100:
        raise WebhookRejected("malformed_body", "data.event_type is missing or invalid.")
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise WebhookRejected("malformed_body", "data.payload is not an object.")
    return data


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON, and jsonb refuses them: parsed as null (the raw body keeps them)."""
    return None


def _finite_float(text: str) -> float | None:
    """A number too large for a float (1e400) parses as infinity, which jsonb refuses: null instead."""
    value = float(text)
    return value if math.isfinite(value) else None


# Built once: json.loads with options builds a decoder on every call, and this is the intake's hot path.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def _depth(document) -> int:
    """How many containers deep `document` goes, walked without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _clean(value):
    """`value` with U+0000 and lone surrogates replaced by U+FFFD in every string and key."""
    if isinstance(value, str):
        return _UNSTORABLE_CHARACTERS.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value
