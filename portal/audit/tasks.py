"""Beat's daily purge of audit entries older than AUDIT_RETENTION_DAYS."""
from celery import shared_task

from portal.audit import services


@shared_task(name="portal.audit.tasks.purge_audit_entries")
def purge_audit_entries() -> int:
    return services.audit_purge()
