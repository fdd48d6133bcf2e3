"""Serving stored audio to listeners: byte ranges (so players can seek) and streamed ZIPs of many recordings."""
from __future__ import annotations

import re

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from zipstream import ZipStream

from recordings import access
from recordings.models import AccessAction, Recording
from recordings.storage import recording_storage

CHUNK = 64 * 1024
# Every door's ZIP limit. The page could not send more (Django's DATA_UPLOAD_MAX_NUMBER_FIELDS is 1,000);
# the admin's "select all" sends no ids and had no limit at all (issue 23).
MAX_ZIP_RECORDINGS = 1000
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII)
# More digits than any file size has: read as "past the end" without int(), which refuses numbers of
# over 4,300 digits with a ValueError (a 500, issue 23).
MAX_DIGITS = 18


class TooManyForZip(Exception):
    """More recordings selected than one ZIP may hold; the message says what to do."""


class RangeNotSatisfiable(Exception):
    """The Range header asks for bytes the file does not have (or is not a byte range we can read)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte for a single `bytes=` range, None for the whole file; raises RangeNotSatisfiable.

    Several ranges at once are answered with the whole file (RFC 9110 lets a server ignore Range).
    """
    if not header:
        return None
    header = header.strip()
    if "," in header:
        return None
    found = RANGE.match(header.replace(" ", ""))
    if not found or (not found.group(1) and not found.group(2)):
        raise RangeNotSatisfiable(header)
    first, last = _number(found.group(1)), _number(found.group(2))
    if first is None:  # suffix: the last N bytes
        if last == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - last), size - 1
    end = min(last, size - 1) if last is not None else size - 1
    if first >= size or (last is not None and last < first):
        raise RangeNotSatisfiable(header)
    return first, end


def _number(digits: str) -> int | None:
    """A Range bound (ASCII digits), None if absent; a bound too long for any file is 10**MAX_DIGITS."""
    if not digits:
        return None
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= MAX_DIGITS else 10**MAX_DIGITS


class FileRange:
    """`length` bytes of an open file from `start`, in chunks; closes the file when done or closed.

    Django closes a streaming response's content (its `close`) after the response, read or not: a
    generator's `finally` runs only if it was started, so a HEAD or a client gone before the first
    byte left the handle open.
    """

    def __init__(self, handle, start: int, length: int):
        self.handle, self.start, self.length = handle, start, length

    def __iter__(self):
        try:
            self.handle.seek(self.start)
            remaining = self.length
            while remaining > 0:
                data = self.handle.read(min(CHUNK, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data
        finally:
            self.close()

    def close(self):
        self.handle.close()


def audio_response(request, recording: Recording, *, door: str) -> HttpResponse:
    """The stored audio for a listener: 200, 206 for a byte range, 416 for a range it does not have.

    Checks the listen permission (PermissionDenied), and logs a play (or a download with ?download=1).
    """
    handle = access.recording_open_audio(recording=recording, user=request.user)
    try:
        return _audio_response(request, recording, handle, door=door)
    except BaseException:
        handle.close()  # the response never took it over
        raise


def _audio_response(request, recording: Recording, handle, *, door: str) -> HttpResponse:
    size = recording.size_bytes if recording.size_bytes is not None else handle.size
    try:
        byte_range = parse_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    downloading = request.GET.get("download") in ("1", "true", "yes")
    # A seek or a re-buffer is not a new listen: only a request for the start is logged.
    if downloading or byte_range is None or byte_range[0] == 0:
        access.recording_access_log(
            recording=recording, user=request.user, door=door,
            action=AccessAction.DOWNLOAD if downloading else AccessAction.PLAY,
        )
    start, end = byte_range if byte_range else (0, size - 1)
    length = end - start + 1
    response = StreamingHttpResponse(
        FileRange(handle, start, length), status=206 if byte_range else 200,
        content_type=recording.content_type or "application/octet-stream",
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    extension = recording.file.name.rsplit(".", 1)[-1] if "." in recording.file.name else "audio"
    disposition = "attachment" if downloading else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="recording-{_safe(recording.recording_id)}.{extension}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", value)[:100]


def _file_chunks(recording: Recording):
    handle = recording_storage.open(recording.file.name, "rb")
    try:
        while True:
            data = handle.read(CHUNK)
            if not data:
                break
            yield data
    finally:
        handle.close()


def zip_response(*, recordings: QuerySet, user, door: str) -> StreamingHttpResponse:
    """The selected stored recordings as one ZIP, streamed as it is built; each inclusion is logged.

    Raises TooManyForZip past MAX_ZIP_RECORDINGS selected (counted without loading them).
    """
    access.ensure_can_listen(user)
    selected = recordings.count()  # a queryset from every door: one COUNT, not the rows
    if selected > MAX_ZIP_RECORDINGS:
        raise TooManyForZip(
            f"A ZIP holds at most {MAX_ZIP_RECORDINGS:,} recordings; {selected:,} were selected. "
            "Narrow the selection (a date or a filter) and export it in parts."
        )
    playable = [r for r in recordings if r.is_playable]
    if not playable:
        return HttpResponse("None of the selected recordings has stored audio.", status=404, content_type="text/plain")
    archive = ZipStream(sized=False)
    for recording in playable:
        extension = recording.file.name.rsplit(".", 1)[-1] if "." in recording.file.name else "audio"
        archive.add(_file_chunks(recording), arcname=f"{_safe(recording.recording_id)}.{extension}")
        access.recording_access_log(recording=recording, user=user, action=AccessAction.ZIP, door=door)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="recordings-{len(playable)}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response
