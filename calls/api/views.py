"""/api/v1/calls/: call legs (active first, then recent), one leg with its timeline; actions use the one door."""
from rest_framework import mixins, viewsets

from calls.api.serializers import CallDetailSerializer, CallSerializer
from calls.models import Call
from calls.selectors import CallFilter, call_queryset
from portal.permissions import ModelPermissions


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Call legs, newest first; filters q (number or id), state, direction, active, since, until.

    Actions: POST /api/v1/calls/{call_control_id}/actions/{action}/ (Telnyx's path names).
    """

    lookup_field = "call_control_id"
    lookup_value_regex = "[^/]+"
    filterset_class = CallFilter
    permission_classes = [ModelPermissions]
    queryset = Call.objects.none()

    def get_queryset(self):
        return call_queryset()

    def get_serializer_class(self):
        return CallDetailSerializer if self.action == "retrieve" else CallSerializer
