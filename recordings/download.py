"""Fetching a recording's audio over HTTP into a temporary file: streamed, counted and hashed on the way.

The media links are not Telnyx API calls (they are pre-signed file URLs), so httpx fetches them directly;
the recordings API that issues fresh links goes through the gateway.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass

import httpx
from django.conf import settings

CHUNK = 64 * 1024
# What an expired or revoked pre-signed link answers; a fresh link is worth asking for at once.
EXPIRED_STATUSES = {400, 401, 403, 404, 410}
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}


class DownloadError(Exception):
    """The file could not be fetched; `link_expired` says a fresh link may succeed right away."""

    def __init__(self, message: str, *, link_expired: bool = False):
        super().__init__(message)
        self.link_expired = link_expired


@dataclass
class Fetched:
    """A downloaded file on disk (never held in memory), with its size, SHA-256 and type."""

    file: tempfile.SpooledTemporaryFile
    size: int
    sha256: str
    content_type: str


def pick_link(urls: dict, preferred_format: str = "") -> tuple[str, str]:
    """(format, url) from Telnyx's {"mp3": url, "wav": url}, the recording's own format first."""
    urls = {k: v for k, v in (urls or {}).items() if isinstance(v, str) and v}
    for fmt in [preferred_format, "mp3", "wav", *urls]:
        if fmt and fmt in urls:
            return fmt, urls[fmt]
    return "", ""


_client: tuple[int, httpx.Client] | None = None
_client_lock = threading.Lock()


def _http() -> httpx.Client:
    """This process's HTTP client, made once: `httpx.stream` built a client, and so an SSL context with
    the CA bundle, for every download (15 % of a worker's time during an ingest burst, issue 13).
    Keyed by process id, since a forked worker must not share its parent's connections."""
    global _client
    with _client_lock:
        if _client is None or _client[0] != os.getpid():
            _client = (os.getpid(), httpx.Client())
        return _client[1]


def fetch(url: str, fmt: str = "") -> Fetched:
    """Stream `url` into a temporary file on disk; refuse an empty body."""
    # max_size=0: the spooled file goes to disk from the first byte, so memory holds one chunk at most.
    target = tempfile.SpooledTemporaryFile(max_size=0)
    digest = hashlib.sha256()
    size = 0
    try:
        with _http().stream(
            "GET", url, timeout=settings.RECORDING_DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=True
        ) as response:
            if response.status_code in EXPIRED_STATUSES:
                raise DownloadError(f"The link was refused (HTTP {response.status_code}): expired or revoked.", link_expired=True)
            if response.status_code >= 400:
                raise DownloadError(f"The file server answered HTTP {response.status_code}.")
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            # httpx (h11) refuses a body shorter than its Content-Length or a chunked body cut before its
            # last chunk; a body that ends only when the connection closes cannot be told from a cut one,
            # so it is not stored (issue 23: never store a truncated recording). File servers send lengths.
            chunked = "chunked" in response.headers.get("transfer-encoding", "").lower()
            delimited = "content-length" in response.headers or chunked
            for chunk in response.iter_bytes(CHUNK):
                target.write(chunk)
                digest.update(chunk)
                size += len(chunk)
    except httpx.HTTPError as exc:
        target.close()
        raise DownloadError(f"Download interrupted: {exc.__class__.__name__}: {exc}") from exc
    except DownloadError:
        target.close()
        raise
    if size == 0:
        target.close()
        raise DownloadError("The file server sent an empty file; refusing to store it.")
    if not delimited:
        target.close()
        raise DownloadError("The file server sent no length (neither Content-Length nor chunks): "
                            "a cut download could not be told from a whole one, so it is not stored.")
    target.seek(0)
    if not content_type.startswith("audio/"):
        content_type = CONTENT_TYPES.get(fmt, "application/octet-stream")
    return Fetched(file=target, size=size, sha256=digest.hexdigest(), content_type=content_type)
