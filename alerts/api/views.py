"""/api/v1/alert-rules/, /api/v1/alert-channels/, /api/v1/alerts/ (issue 26); writes go through alerts/services.py."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from alerts import selectors, services
from alerts.api.serializers import (
    AcknowledgeSerializer,
    AlertChannelSerializer,
    AlertRuleSerializer,
    AlertSerializer,
)
from alerts.models import Alert
from portal.permissions import ModelPermissions


class _ServiceWrites(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                     mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """create / PATCH / destroy call the services, which check the same permissions as pages and admin."""

    permission_classes = [ModelPermissions]
    create_service = update_service = delete_service = None
    instance_name = ""

    def perform_create(self, serializer):
        serializer.instance = type(self).create_service(user=self.request.user, **serializer.validated_data)

    def partial_update(self, request, *args, **kwargs):
        """Change some fields (PATCH; there is no PUT)."""
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(self.get_serializer(self.get_queryset().get(pk=serializer.instance.pk)).data)

    def perform_update(self, serializer):
        type(self).update_service(**{self.instance_name: serializer.instance}, user=self.request.user,
                                  **serializer.validated_data)

    def perform_destroy(self, instance):
        type(self).delete_service(**{self.instance_name: instance}, user=self.request.user)


class AlertRuleViewSet(_ServiceWrites):
    """Alert rules: everyone reads them; Administrators create, change and delete them."""

    serializer_class = AlertRuleSerializer
    queryset = selectors.rule_queryset()
    filterset_class = selectors.AlertRuleFilter
    create_service = staticmethod(services.alert_rule_create)
    update_service = staticmethod(services.alert_rule_update)
    delete_service = staticmethod(services.alert_rule_delete)
    instance_name = "rule"


class AlertChannelViewSet(_ServiceWrites):
    """Delivery channels (Administrators): e-mail addresses or a webhook URL; `secret` is write-only."""

    serializer_class = AlertChannelSerializer
    queryset = selectors.channel_queryset()
    filterset_class = selectors.AlertChannelFilter
    create_service = staticmethod(services.alert_channel_create)
    update_service = staticmethod(services.alert_channel_update)
    delete_service = staticmethod(services.alert_channel_delete)
    instance_name = "channel"


class AlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts, newest first; `status`, `severity`, `queue` (name), `rule`, `since`, `until` filter them."""

    serializer_class = AlertSerializer
    queryset = selectors.alert_queryset()
    filterset_class = selectors.AlertFilter

    def get_permissions(self):
        if self.action == "acknowledge":  # the service checks alerts.acknowledge_alert
            return [IsAuthenticated()]
        return [ModelPermissions()]

    @extend_schema(request=AcknowledgeSerializer, responses={200: AlertSerializer})
    @route(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request, pk=None):
        """Acknowledge an open alert (Operators and above), with an optional `note`."""
        alert = get_object_or_404(Alert, pk=pk)
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.alert_acknowledge(alert=alert, user=request.user, note=body.validated_data["note"])
        return Response(AlertSerializer(selectors.alert_queryset().get(pk=alert.pk)).data, status=status.HTTP_200_OK)
