"""Payload readers shared by every handler."""
from datetime import UTC, datetime

from webhooks.payloads import number, text, when


def test_when_reads_aware_and_naive_timestamps_as_utc():
    assert when("2026-11-25T09:00:00Z") == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert when("2026-11-25T09:00:00") == datetime(2026, 11, 25, 9, tzinfo=UTC)
    assert when("not a time") is None and when(None) is None


def test_text_and_number_ignore_wrong_types():
    assert text({"a": "x" * 300}, "a") == "x" * 255 and text({"a": 5}, "a") == ""
    assert number({"n": 3}, "n") == 3 and number({"n": True}, "n") is None and number({"n": "3"}, "n") is None
