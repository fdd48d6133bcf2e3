"""Conference reconciliation for `manage.py sync_telnyx`."""
from conferencing.tasks import fetch_and_sync, sync_everything

SYNCS = {"conferences": sync_everything}

# When beat starts: conferences held active that Telnyx no longer lists are closed (issue 29).
START_SYNCS = {"conferences": fetch_and_sync}
