"""Where captured recordings are kept: the `recordings` entry of settings.STORAGES, resolved lazily."""
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class RecordingStorage(LazyObject):
    """The configured storage backend, looked up on first use (so tests and deployers can swap it)."""

    def _setup(self):
        self._wrapped = storages["recordings"]


recording_storage = RecordingStorage()


def get_recording_storage():
    """Callable for FileField(storage=...): migrations keep the reference, not a concrete backend."""
    return recording_storage


@receiver(setting_changed)
def _reset(*, setting, **kwargs):
    if setting in ("STORAGES", "MEDIA_ROOT"):
        recording_storage._wrapped = empty
