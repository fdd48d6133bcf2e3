"""A recording download cut half-way (issue 23): retried, never stored truncated.

A local HTTP server plays Telnyx's file server: it announces the whole file, sends half of it and
closes the connection (with a Content-Length, or in chunks), then serves the file whole.
"""
import hashlib
import socket
import threading

import pytest
import respx
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from recordings.models import Recording
from recordings.tasks import download_recording
from tests.conftest import TELNYX
from tests.recordings.conftest import recording_storage_dir, stored_files  # noqa: F401 - the fixture
from tests.recordings.factories import RecordingFactory

pytestmark = pytest.mark.django_db
AUDIO = bytes(range(256)) * 64  # 16 KiB
AUDIO_SHA256 = hashlib.sha256(AUDIO).hexdigest()


class CuttingFileServer:
    """Answers GETs: the first `cuts` are cut half-way (as `mode` says), the rest are whole."""

    def __init__(self, *, cuts: int, mode: str):
        self.cuts, self.mode, self.requests = cuts, mode, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                self.requests += 1
                cut = self.requests <= self.cuts
                half = AUDIO[: len(AUDIO) // 2]
                if self.mode == "close-delimited":  # HTTP/1.0 style: the body ends when the connection does
                    head = b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n"
                    data = AUDIO if not cut else half
                elif self.mode == "chunked":
                    body = AUDIO if not cut else half
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    data = b"%x\r\n" % len(AUDIO) + body + (b"\r\n0\r\n\r\n" if not cut else b"")
                else:
                    head = (b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                            % len(AUDIO))
                    data = AUDIO if not cut else half
                conn.sendall(head + data)

    def close(self):
        self.server.close()


@pytest.fixture
def fake_telnyx():
    """The recordings API (fresh links) on respx; the file server's requests go to the real socket."""
    with respx.mock(base_url=TELNYX, assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host="127.0.0.1").pass_through()
        yield router


@pytest.mark.resilience("Recording download interrupted")
@pytest.mark.parametrize("mode", ["content-length", "chunked"])
@pytest.mark.parametrize("cuts", [1, 2])
def test_cut_download_is_retried_and_never_stored_truncated(fake_telnyx, recording_storage_dir, resilience, mode, cuts):  # noqa: F811
    files = CuttingFileServer(cuts=cuts, mode=mode)
    try:
        recording = RecordingFactory(recording_id="rec-cut", recording_urls={"mp3": files.url("first.mp3")},
                                     urls_received_at=timezone.now())
        fresh = fake_telnyx.get("/recordings/rec-cut").respond(
            200, json={"data": {"id": "rec-cut", "download_urls": {"mp3": files.url("fresh.mp3")}}}
        )
        resilience.tried()

        download_recording.delay(recording.pk)  # eager: Celery runs the service's retries in place

        recording.refresh_from_db()
        stored = stored_files(recording_storage_dir)
        whole = [f for f in stored if f.read_bytes() == AUDIO]
        resilience.lost(int(recording.status != Recording.Status.STORED or len(whole) != 1))
        resilience.doubled(max(0, len(stored) - 1))
        assert recording.status == Recording.Status.STORED
        assert (recording.size_bytes, recording.sha256) == (len(AUDIO), AUDIO_SHA256)
        assert len(stored) == 1 and stored[0].read_bytes() == AUDIO  # nothing truncated left behind either
        assert recording.download_attempts == cuts + 1 and files.requests == cuts + 1
        assert fresh.call_count == cuts  # every retry asks Telnyx for a fresh link
        assert recording.last_error == ""
    finally:
        files.close()


@pytest.mark.resilience("Recording download interrupted")
def test_every_attempt_cut_ends_failed_with_nothing_stored(fake_telnyx, recording_storage_dir, settings, resilience):  # noqa: F811
    settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS = 3
    files = CuttingFileServer(cuts=99, mode="content-length")
    try:
        recording = RecordingFactory(recording_id="rec-cut", recording_urls={"mp3": files.url("first.mp3")},
                                     urls_received_at=timezone.now())
        fake_telnyx.get("/recordings/rec-cut").respond(
            200, json={"data": {"id": "rec-cut", "download_urls": {"mp3": files.url("fresh.mp3")}}}
        )
        resilience.tried()
        download_recording.delay(recording.pk)
        recording.refresh_from_db()
        resilience.lost(int(recording.status == Recording.Status.STORED))  # stored from a cut body: lost audio
        assert recording.status == Recording.Status.FAILED and recording.download_attempts == 3
        assert "interrupted" in recording.last_error.lower() or "incomplete" in recording.last_error.lower()
        assert stored_files(recording_storage_dir) == [] and recording.size_bytes is None and not recording.file
    finally:
        files.close()


@pytest.mark.resilience("Recording download interrupted")
def test_a_body_without_length_is_not_stored(fake_telnyx, recording_storage_dir, settings, resilience):  # noqa: F811
    """Ended by the connection closing, with no Content-Length nor chunks: a cut would look whole."""
    settings.RECORDING_DOWNLOAD_MAX_ATTEMPTS = 1
    files = CuttingFileServer(cuts=1, mode="close-delimited")
    try:
        recording = RecordingFactory(recording_id="rec-cut", recording_urls={"mp3": files.url("first.mp3")},
                                     urls_received_at=timezone.now())
        resilience.tried()
        download_recording.delay(recording.pk)
        recording.refresh_from_db()
        resilience.lost(int(recording.status == Recording.Status.STORED and recording.size_bytes != len(AUDIO)))
        assert recording.status == Recording.Status.FAILED and "no length" in recording.last_error
        assert stored_files(recording_storage_dir) == []
    finally:
        files.close()


@pytest.mark.resilience("Recording download interrupted")
def test_storage_that_keeps_part_of_the_file_is_caught(fake_telnyx, recording_storage_dir, monkeypatch, resilience):  # noqa: F811
    """A storage backend that writes short without raising (a full volume behind a network mount)."""
    real_save = FileSystemStorage.save
    files = CuttingFileServer(cuts=0, mode="content-length")
    saves = []

    def short_save(self, name, content, max_length=None):
        saves.append(name)
        content.seek(0)
        data = content.read()
        return real_save(self, name, ContentFile(data[: len(data) // 2] if len(saves) == 1 else data), max_length)

    try:
        recording = RecordingFactory(recording_id="rec-cut", recording_urls={"mp3": files.url("first.mp3")},
                                     urls_received_at=timezone.now())
        fake_telnyx.get("/recordings/rec-cut").respond(
            200, json={"data": {"id": "rec-cut", "download_urls": {"mp3": files.url("fresh.mp3")}}}
        )
        monkeypatch.setattr(FileSystemStorage, "save", short_save)
        resilience.tried()
        download_recording.delay(recording.pk)
        recording.refresh_from_db()
        stored = stored_files(recording_storage_dir)
        resilience.lost(int(recording.status != Recording.Status.STORED or recording.size_bytes != len(AUDIO)))
        assert len(saves) == 2  # the short copy was refused and the download retried
        assert recording.status == Recording.Status.STORED and recording.sha256 == AUDIO_SHA256
        assert len(stored) == 1 and stored[0].read_bytes() == AUDIO
    finally:
        files.close()
