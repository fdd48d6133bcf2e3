"""Queue reconciliation for `manage.py sync_telnyx`."""
from queues.tasks import fetch_and_sync

SYNCS = {"queues": fetch_and_sync}

# When beat starts: stays Telnyx no longer lists are closed, vanished queues marked deleted (issue 29).
START_SYNCS = {"queues": fetch_and_sync}
