"""Voice-grade content (issue 24): what a caller said or pressed is shown only to users who may listen.

Transcripts (live and of recordings), DTMF digits (PINs, card numbers), an AI conversation's messages and
insights, and recording links: every door (pages, live fragments, admin, API, stored event payloads)
asks `may_hear(user)` and, for others, shows that the content exists, masked.
"""
from __future__ import annotations

LISTEN = "recordings.listen_recording"
HIDDEN = "(hidden: needs the listen permission)"
# Payload keys that carry content (events.md): DTMF, transcripts, recording links, AI conversation.
VOICE_KEYS = frozenset({
    "digit", "digits", "transcription_text", "transcript", "transcription_data", "messages", "results",
    "recording_urls", "public_recording_urls", "download_urls",
})
# Live groups carrying content: `<group>.heard` (listeners, unmasked) beside `<group>.masked` (others).
HEARD, MASKED = "heard", "masked"


def may_hear(user) -> bool:
    return user is not None and user.has_perm(LISTEN)


def mask_payload(payload, user=None, *, force: bool = False):
    """A copy of a Telnyx payload with content values hidden, unless `user` may hear (or always, `force`)."""
    if not force and may_hear(user):
        return payload
    if isinstance(payload, dict):
        return {k: (HIDDEN if k in VOICE_KEYS and v not in (None, "", [], {}) else mask_payload(v, force=True))
                for k, v in payload.items()}
    if isinstance(payload, list):
        return [mask_payload(v, force=True) for v in payload]
    return payload


def masked_digits(digits: str) -> str:
    """'••••' for four digits pressed: that they exist, not what they were."""
    return "•" * len(digits)


def content_groups(group: str, user) -> list[str]:
    """The content group of `group` a page of `user` subscribes to: heard or masked, never both."""
    return [f"{group}.{HEARD if may_hear(user) else MASKED}"]
