"""/api/v1/recordings/: search, read with transcripts, stream the audio (Range), delete (202 + command)."""
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated

from portal.commands.api import CommandSerializer, issue_once
from portal.permissions import ModelPermissions
from recordings import selectors, serving
from recordings.api.serializers import RecordingDetailSerializer, RecordingSerializer
from recordings.models import Recording


class RecordingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Recordings, newest first; `q` searches transcripts (the matching fragment comes back as `match`)."""

    lookup_field = "recording_id"
    lookup_url_kwarg = "id"
    lookup_value_regex = "[^/]+"
    filterset_class = selectors.RecordingFilter
    queryset = Recording.objects.none()

    def get_queryset(self):
        queryset = selectors.recording_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("transcriptions")
        return queryset

    def get_serializer_class(self):
        return RecordingDetailSerializer if self.action == "retrieve" else RecordingSerializer

    def get_permissions(self):
        # Audio and deletion have their own permissions, checked by the services (listen / delete).
        if self.action == "destroy":
            return [IsAuthenticated()]
        return [ModelPermissions()]

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = selectors.with_matches(page if page is not None else queryset, request.query_params.get("q", ""))
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else self._plain(data)

    @staticmethod
    def _plain(data):
        from rest_framework.response import Response

        return Response(data)

    @extend_schema(request=None, responses={202: CommandSerializer})
    def destroy(self, request, *args, **kwargs):
        """Delete at Telnyx through the command bus (Administrators); the row stays as a tombstone."""
        from recordings import deletion

        recording = self.get_object()

        def delete():
            issued, skipped = deletion.recordings_delete_request(recordings=[recording], user=request.user, door="api")
            if not issued:
                raise ValidationError({"id": skipped})
            return issued

        return issue_once(request, delete)  # honours Idempotency-Key like every door that issues commands

    @extend_schema(
        parameters=[
            OpenApiParameter("Range", str, OpenApiParameter.HEADER, required=False, description="e.g. bytes=0-1023, bytes=-500"),
            OpenApiParameter("download", bool, required=False, description="Send as an attachment (logged as a download)."),
        ],
        responses={
            (200, "audio/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The whole file"),
            (206, "audio/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The requested byte range"),
            416: OpenApiResponse(description="Range not satisfiable"),
        },
    )
    @route(detail=True, methods=["get"])
    def audio(self, request, id=None):
        """The stored audio (listeners only; each play or download is logged)."""
        recording = self.get_object()
        try:
            return serving.audio_response(request, recording, door="api")
        except FileNotFoundError as exc:
            raise Http404(str(exc)) from exc

    def perform_content_negotiation(self, request, force=False):
        # Players ask for audio/*: the audio action answers it whatever JSON renderers are configured.
        return super().perform_content_negotiation(request, force=force or self.action == "audio")

