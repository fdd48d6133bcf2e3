"""Counts of refused deliveries, kept in the cache so a forged flood never writes to the tables."""
from django.core.cache import cache

REASONS = [
    "missing_headers",
    "bad_base64",
    "bad_signature_length",
    "bad_timestamp",
    "stale_timestamp",
    "signature_mismatch",
    "malformed_body",
    "too_large",
    "misconfigured",
]


def _key(reason: str) -> str:
    return f"webhooks:rejected:{reason}"


def count_rejection(reason: str) -> None:
    """Add one to a reason's counter."""
    key = _key(reason)
    if not cache.add(key, 1, timeout=None):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=None)


def rejection_counts() -> dict[str, int]:
    """Every reason with its count, zeros included."""
    stored = cache.get_many([_key(r) for r in REASONS])
    return {reason: int(stored.get(_key(reason), 0)) for reason in REASONS}
