"""Every CSV export escapes cells a spreadsheet would run as a formula (queue names come from Telnyx and admins)."""
import csv
import io
from urllib.parse import quote

import pytest

from tests.queues.factories import QueueFactory

pytestmark = pytest.mark.django_db
# No "/" in them: a queue's page and API address carry its name in one path segment.
HOSTILE = ["=HYPERLINK(\"evil.test\",\"x\")", "+1+cmd|' -C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def names_in(text: str) -> list[str]:
    return [row["queue"] for row in csv.DictReader(io.StringIO(text))]


def assert_escaped(names: list[str]) -> None:
    assert sorted(names) == sorted("'" + n.replace("|", "\\|") for n in HOSTILE)
    assert not any(n[0] in "=+-@" for n in names)


def test_board_export_escapes_formulas(client, viewer):
    for name in HOSTILE:
        QueueFactory(name=name)
    client.force_login(viewer)
    response = client.get("/queues/", {"format": "csv", "window": "today"})
    assert response.status_code == 200
    assert_escaped(names_in(response.content.decode()))


@pytest.mark.parametrize("name", HOSTILE)
def test_queue_page_and_api_exports_escape_formulas(client, viewer, name):
    QueueFactory(name=name)
    client.force_login(viewer)
    page = client.get(f"/queues/{quote(name, safe='')}/", {"format": "csv", "window": "hour"})
    api = client.get(f"/api/v1/queues/{quote(name, safe='')}/metrics/", {"format": "csv", "window": "hour"})
    for response in (page, api):
        assert response.status_code == 200, response.content
        assert names_in(response.content.decode()) == ["'" + name.replace("|", "\\|")]


def test_numbers_are_not_escaped(client, viewer):
    QueueFactory(name="support")
    client.force_login(viewer)
    row = next(csv.DictReader(io.StringIO(client.get("/queues/support/", {"format": "csv"}).content.decode())))
    assert row["queue"] == "support" and row["offered"] == "0" and row["goal_percent"] == "80"
