"""Recordings tests: capture on, storage in a temporary folder, a fake file server beside the fake Telnyx."""
import hashlib

import pytest

AUDIO = bytes(range(256)) * 4  # 1,024 bytes that differ from offset to offset, so ranges are checkable
AUDIO_SHA256 = hashlib.sha256(AUDIO).hexdigest()
FILES = "https://files.test"


@pytest.fixture(autouse=True)
def recording_storage_dir(portal_settings, settings, tmp_path):
    """Each test stores recordings under its own tmp dir, with capture switched on."""
    location = tmp_path / "recordings"
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(location)}},
    }
    settings.RECORDING_CAPTURE = True
    settings.RECORDING_RETENTION_DAYS = 0
    return location


def stored_files(location) -> list:
    return [p for p in location.rglob("*") if p.is_file()] if location.exists() else []
