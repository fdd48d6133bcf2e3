"""One duration format everywhere: h:mm:ss."""
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template


@pytest.mark.parametrize("value, shown", [(0, "0:00:00"), (7, "0:00:07"), (3723, "1:02:03"), (timedelta(minutes=5), "0:05:00"),
                                          (None, ""), ("x", "")])
def test_duration_filter(value, shown):
    assert Template("{{ v|duration }}").render(Context({"v": value})) == shown


def test_elapsed_between_two_moments():
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    rendered = Template("{{ a|elapsed:b }}").render(Context({"a": start, "b": start + timedelta(seconds=4000)}))
    assert rendered == "1:06:40"


def test_ticking_spans_start_with_the_duration_so_far():
    from django.utils import timezone

    rendered = Template("{{ v|elapsed_now }}").render(Context({"v": timezone.now() - timedelta(seconds=3725)}))
    assert rendered in ("1:02:05", "1:02:06")
