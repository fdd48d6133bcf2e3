"""Conference reconciliation for `manage.py sync_telnyx`."""
from conferencing.tasks import sync_everything

SYNCS = {"conferences": sync_everything}
