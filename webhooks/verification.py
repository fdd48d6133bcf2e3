"""Ed25519 verification of Telnyx webhooks and validation of their envelope, before anything is stored."""
from __future__ import annotations

import base64
import binascii
import functools
import json
import time
from dataclasses import dataclass

from django.conf import settings
from nacl.exceptions import BadSignatureError
from nacl.exceptions import ValueError as NaclValueError
from nacl.signing import VerifyKey

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"


@dataclass
class WebhookRejected(Exception):
    """A delivery refused before storage; `reason` is a short stable code for the counters."""

    reason: str
    message: str
    status: int = 400


def _public_keys() -> tuple[VerifyKey, ...]:
    return _decode_keys(settings.TELNYX_PUBLIC_KEY)


@functools.lru_cache(maxsize=8)
def _decode_keys(configured: str) -> tuple[VerifyKey, ...]:
    """Decode the configured keys once per value, not on every delivery (the intake is the hot path)."""
    keys = []
    for encoded in filter(None, (k.strip() for k in configured.split(","))):
        try:
            keys.append(VerifyKey(base64.b64decode(encoded, validate=True)))
        except (binascii.Error, NaclValueError, ValueError) as exc:
            raise WebhookRejected("misconfigured", "Webhook public key is not configured correctly.", 500) from exc
    if not keys:
        raise WebhookRejected("misconfigured", "TELNYX_PUBLIC_KEY is not set; webhooks cannot be verified.", 500)
    return tuple(keys)


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
    """Return the event's `data` object, accepting both the documented envelope and the bare form."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRejected("malformed_body", "Body is not JSON.") from exc
    if not isinstance(document, dict):
        raise WebhookRejected("malformed_body", "Body is not a JSON object.")
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
