"""GET /api/v1/audit/: the trail, newest first; there is no way to write through the API."""
from rest_framework import mixins, viewsets

from portal.audit.api.serializers import AuditEntrySerializer
from portal.audit.selectors import AuditFilter, audit_queryset


class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sign-ins, lockouts, commands, recording access, settings, users and tokens (Administrators)."""

    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter
    queryset = audit_queryset()
