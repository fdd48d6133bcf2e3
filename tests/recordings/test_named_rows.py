"""Issue 31: recordings named by who and what, linked to their call or conference, the search marked on their page."""
import pytest

from tests.calls.factories import CallFactory
from tests.factories import ConferenceFactory
from tests.recordings.factories import RecordingFactory, TranscriptionFactory

pytestmark = pytest.mark.django_db


def test_rows_are_named_by_caller_or_conference_and_date_with_shortcuts(client, viewer):
    CallFactory(call_control_id="v3:caller", from_number="+15550123")
    ConferenceFactory(conference_id="conf-n", name="Support huddle")
    call_rec = RecordingFactory(call_control_id="v3:caller")
    RecordingFactory(call_control_id="", conference_id="conf-n")
    client.force_login(viewer)
    html = client.get("/recordings/").content.decode()
    assert f"+15550123, {call_rec.recorded_at:%Y-%m-%d}" in html.replace("\n", "")
    assert "Support huddle," in html and 'href="/conferences/conf-n/"' in html and 'href="/calls/v3:caller/"' in html
    assert ">Today</a>" in html and ">Last hour</a>" in html and "?since=" in html


def test_a_recording_found_by_search_marks_the_words_on_its_page(client, supervisor):
    CallFactory(call_control_id="v3:owner", from_number="+15550999")
    recording = RecordingFactory(recording_id="rec-marked", call_control_id="v3:owner")
    TranscriptionFactory(recording=recording, text="Hello there. My refund never arrived.")
    client.force_login(supervisor)
    listing = client.get("/recordings/?q=refund").content.decode()
    assert 'href="/recordings/rec-marked/?q=refund"' in listing
    page = client.get("/recordings/rec-marked/?q=refund").content.decode()
    assert "My <mark>refund</mark> never arrived." in page
    assert 'href="/calls/v3:owner/" data-of-link' in page and "Recording of +15550999" in page
