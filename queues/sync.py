"""Queue reconciliation for `manage.py sync_telnyx`."""
from queues.tasks import fetch_and_sync

SYNCS = {"queues": fetch_and_sync}
