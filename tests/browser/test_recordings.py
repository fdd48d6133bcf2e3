"""End to end in Chromium: a saved recording appears on the open recordings page, is captured, and plays."""
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import free_port, logged_in

pytestmark = [pytest.mark.browser]

AUDIO = bytes(range(256)) * 40


class FileServer(BaseHTTPRequestHandler):
    """Telnyx's file host, as far as the capture is concerned: one MP3 link."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(AUDIO)))
        self.end_headers()
        self.wfile.write(AUDIO)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def file_server():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FileServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def supervisor(stack):
    stack.manage("shell", "-c", (
        "from django.contrib.auth.models import Group; from django.contrib.auth import get_user_model; "
        "u, _ = get_user_model().objects.get_or_create(username='supervisor', defaults={'is_staff': True}); "
        "u.set_password('pass-word-123'); u.save(); u.groups.add(Group.objects.get(name='Supervisor'))"
    ))
    return "supervisor"


def test_a_saved_recording_appears_live_is_stored_and_plays(browser, stack, file_server, supervisor):
    event_id = str(uuid.uuid4())
    with logged_in(browser, stack.base_url, supervisor) as page:
        page.goto("/recordings/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "connected", timeout=15000)
        page.evaluate("window.__marker = 'same page'")
        assert stack.post_webhook(
            "call.recording.saved", event_id, "2026-11-23T09:00:00Z", call_control_id="v3:browser-rec",
            call_session_id=f"s-{event_id}", call_leg_id="leg", channels="single",
            recording_started_at="2026-11-23T08:59:00Z", recording_ended_at="2026-11-23T09:00:00Z",
            recording_urls={"mp3": f"{file_server}/rec.mp3"},
        ) == 200
        row = page.locator(f'tr[data-recording-id="{event_id}"]')
        expect(row).to_be_visible(timeout=20000)
        # Telnyx's API is unreachable in this stack: the webhook's own link is used, and the row turns stored.
        expect(row).to_have_attribute("data-status", "stored", timeout=30000)
        expect(row).to_contain_text("Stored")
        assert page.evaluate("window.__marker") == "same page"

        row.get_by_role("link").first.click()
        audio = page.locator("#recording-player audio")
        expect(audio).to_be_visible()
        src = audio.get_attribute("src")
        status = page.evaluate("src => fetch(src, {headers: {Range: 'bytes=0-99'}}).then(r => r.status)", src)
        assert status == 206
        page.reload()
        expect(page.locator("#recording-access")).to_contain_text("supervisor")
