"""/api/v1/conferences/: read the live state, create from a call leg, and issue actions (202 + command)."""
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action as route
from rest_framework.permissions import IsAuthenticated

from conferencing.action_params import CreateParams
from conferencing.api.serializers import (
    ConferenceDetailSerializer,
    ConferenceSerializer,
    ParticipantSerializer,
)
from conferencing.models import Conference, Participant
from conferencing.selectors import (
    ConferenceFilter,
    ParticipantFilter,
    conference_participants,
    conference_queryset,
)
from portal.commands.api import CommandSerializer, body_text, command_accepted
from portal.permissions import ModelPermissions


class ConferenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Conferences, active first. Actions go through the one door: /conferences/{id}/actions/{action}/."""

    lookup_field = "conference_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"
    filterset_class = ConferenceFilter

    def get_queryset(self):
        if self.action == "participants":  # a list of participants, filtered by ParticipantFilter
            return conference_participants(self.kwargs.get("id", ""))
        queryset = conference_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("participants")
        return queryset

    def get_serializer_class(self):
        return ConferenceDetailSerializer if self.action == "retrieve" else ConferenceSerializer

    @extend_schema(request=CreateParams, responses={202: CommandSerializer})
    def create(self, request, *args, **kwargs):
        """Create a conference from a call leg (202: the command that will do it)."""
        return command_accepted(
            request, action_name="conference.create", target=body_text(request, "call_control_id"),
            params=request.data,
        )

    @extend_schema(responses=ParticipantSerializer(many=True))
    @route(detail=True, methods=["get"], filterset_class=ParticipantFilter, queryset=Participant.objects.none())
    def participants(self, request, id=None):
        """The conference's participants; `status`, `q`, `since` and `until` filter them, not the conference."""
        get_object_or_404(Conference, conference_id=id)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ParticipantSerializer(page, many=True).data)

    def get_permissions(self):
        # Writes are commands: their own permission is checked by the command service.
        if self.request.method == "POST":
            return [IsAuthenticated()]
        return [ModelPermissions()]

    queryset = Conference.objects.none()
