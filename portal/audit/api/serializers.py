"""The audit entry as the API shows it."""
from rest_framework import serializers

from portal.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["id", "at", "kind", "username", "address", "door", "target", "summary", "detail"]
        read_only_fields = fields
