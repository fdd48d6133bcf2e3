"""Serving stored audio to listeners: byte ranges (so players can seek) and streamed ZIPs of many recordings."""
from __future__ import annotations

import re

from django.http import HttpResponse, StreamingHttpResponse
from zipstream import ZipStream

from recordings import services
from recordings.models import AccessAction, Recording

CHUNK = 64 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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
    first, last = found.group(1), found.group(2)
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(header)
    return start, end


def _chunks(handle, start: int, length: int):
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def audio_response(request, recording: Recording, *, door: str) -> HttpResponse:
    """The stored audio for a listener: 200, 206 for a byte range, 416 for a range it does not have.

    Checks the listen permission (PermissionDenied), and logs a play (or a download with ?download=1).
    """
    handle = services.recording_open_audio(recording=recording, user=request.user)
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
        services.recording_access_log(
            recording=recording, user=request.user, door=door,
            action=AccessAction.DOWNLOAD if downloading else AccessAction.PLAY,
        )
    start, end = byte_range if byte_range else (0, size - 1)
    length = end - start + 1
    response = StreamingHttpResponse(
        _chunks(handle, start, length), status=206 if byte_range else 200,
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
    handle = services.recording_storage.open(recording.file.name, "rb")
    try:
        while True:
            data = handle.read(CHUNK)
            if not data:
                break
            yield data
    finally:
        handle.close()


def zip_response(*, recordings, user, door: str) -> StreamingHttpResponse:
    """The selected stored recordings as one ZIP, streamed as it is built; each inclusion is logged."""
    services.ensure_can_listen(user)
    playable = [r for r in recordings if r.is_playable]
    if not playable:
        return HttpResponse("None of the selected recordings has stored audio.", status=404, content_type="text/plain")
    archive = ZipStream(sized=False)
    for recording in playable:
        extension = recording.file.name.rsplit(".", 1)[-1] if "." in recording.file.name else "audio"
        archive.add(_file_chunks(recording), arcname=f"{_safe(recording.recording_id)}.{extension}")
        services.recording_access_log(recording=recording, user=user, action=AccessAction.ZIP, door=door)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="recordings-{len(playable)}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response
