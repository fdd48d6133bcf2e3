"""The events archive (EVENT_ARCHIVE_STORAGE, issue 32): compressed JSON Lines per UTC day, with a manifest.

Layout in the storage: `events/YYYY-MM-DD/manifest.json` and one or more parts beside it
(`part-<first id>-<last id>-<random>.jsonl.gz`), one JSON object per event with every column. A day
is usually archived in one run; a day whose pending or failed events were kept gets a part per run
that removed some, and rows already in a part are never written again (a day loaded back for an
investigation and purged again adds nothing).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks.models import WebhookEvent

STORAGE = "event_archive"
CHUNK = 2000
_TIME_FIELDS = ("occurred_at", "received_at", "processed_at")


class ArchiveError(Exception):
    """An archived day is missing, or a part does not match its manifest."""


def archive_storage():
    """The configured archive storage, or None when EVENT_ARCHIVE_STORAGE is not set (nothing is archived)."""
    return storages[STORAGE] if STORAGE in settings.STORAGES else None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A UTC day as [start, end) datetimes: archive days and partitions are cut in UTC."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _fields() -> list[str]:
    return [field.attname for field in WebhookEvent._meta.concrete_fields]


def _folder(day: date) -> str:
    return f"events/{day.isoformat()}"


def read_manifest(day: date, storage=None) -> dict | None:
    storage = storage or archive_storage()
    name = f"{_folder(day)}/manifest.json"
    if storage is None or not storage.exists(name):
        return None
    with storage.open(name, "rb") as handle:
        return json.loads(handle.read())


def _write_manifest(storage, day: date, manifest: dict) -> None:
    name = f"{_folder(day)}/manifest.json"
    if storage.exists(name):
        storage.delete(name)  # FileSystemStorage never overwrites: it would pick another name
    storage.save(name, File(io.BytesIO(json.dumps(manifest, indent=1).encode()), name="manifest.json"))


def read_part(storage, folder: str, part: dict) -> list[dict]:
    """A part's rows, after checking its SHA-256 against the manifest."""
    with storage.open(f"{folder}/{part['name']}", "rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != part["sha256"]:
        raise ArchiveError(f"{folder}/{part['name']} does not match its manifest (SHA-256).")
    return [json.loads(line) for line in gzip.decompress(data).splitlines() if line]


def _archived_ids(storage, day: date, manifest: dict | None) -> set[int]:
    if not manifest:
        return set()
    return {row["id"] for part in manifest["parts"] for row in read_part(storage, _folder(day), part)}


def _encode(row: dict) -> bytes:
    for name in _TIME_FIELDS:
        if row.get(name) is not None:
            row[name] = row[name].astimezone(UTC).isoformat()
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def archive_events(queryset) -> int:
    """Write the events of `queryset` to the archive, a part per UTC day; returns how many rows were written.

    Call it before deleting the same rows: nothing is archived (0) when no storage is configured.
    """
    storage = archive_storage()
    if storage is None:
        return 0
    written = 0
    rows = queryset.order_by("received_at", "id").values(*_fields()).iterator(chunk_size=CHUNK)
    day, batch = None, []
    for row in rows:
        row_day = row["received_at"].astimezone(UTC).date()
        if row_day != day:
            written += _write_day(storage, day, batch) if batch else 0
            day, batch = row_day, []
        batch.append(row)
    if batch:
        written += _write_day(storage, day, batch)
    return written


def _write_day(storage, day: date, rows: list[dict]) -> int:
    manifest = read_manifest(day, storage) or {"day": day.isoformat(), "rows": 0, "parts": []}
    seen = _archived_ids(storage, day, manifest)
    rows = [row for row in rows if row["id"] not in seen]
    if not rows:
        return 0
    with tempfile.TemporaryFile() as spool:
        with gzip.GzipFile(fileobj=spool, mode="wb", mtime=0) as compressed:
            for row in rows:
                compressed.write(_encode(dict(row)))
        spool.seek(0)
        digest = hashlib.file_digest(spool, "sha256").hexdigest()
        spool.seek(0)
        ids = [row["id"] for row in rows]
        name = f"part-{min(ids)}-{max(ids)}-{uuid.uuid4().hex[:8]}.jsonl.gz"
        saved = storage.save(f"{_folder(day)}/{name}", File(spool, name=name))
    manifest["parts"].append({
        "name": saved.rsplit("/", 1)[-1], "rows": len(rows), "sha256": digest,
        "first_id": min(ids), "last_id": max(ids), "written_at": timezone.now().isoformat(),
    })
    manifest["rows"] += len(rows)
    _write_manifest(storage, day, manifest)
    return len(rows)


def archived_rows(day: date) -> Iterable[dict]:
    """Every archived event of a UTC day, as stored (each part checked against the manifest)."""
    storage = archive_storage()
    if storage is None:
        raise ArchiveError("No archive: EVENT_ARCHIVE_STORAGE is not set.")
    manifest = read_manifest(day, storage)
    if manifest is None:
        raise ArchiveError(f"Nothing archived for {day.isoformat()}.")
    for part in manifest["parts"]:
        yield from read_part(storage, _folder(day), part)


def to_event(row: dict) -> WebhookEvent:
    """An archived row as an unsaved event with its original id and times."""
    values = dict(row)
    for name in _TIME_FIELDS:
        if values.get(name):
            values[name] = parse_datetime(values[name])
    return WebhookEvent(**values)
