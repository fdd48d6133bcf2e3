"""Reads of recordings."""
from recordings.models import Recording


def recording_list(limit: int = 200):
    return Recording.objects.all()[:limit]
