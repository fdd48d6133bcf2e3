"""Admin for recordings: search, filters, bulk re-download / delete / ZIP; links hidden from non-listeners."""
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from portal import voice_content
from portal.admin_mixins import LiveChangeListMixin, ReadOnlyAdminMixin
from portal.models import Command
from recordings import access, capture, deletion, serving
from recordings.models import Recording, Transcription

# Telnyx's links are for listeners only, in every door; the stored file is reached through the portal only.
LISTENER_FIELDS = ("recording_urls", "public_recording_urls", "audio")


class TranscriptionInline(admin.TabularInline):
    model = Transcription
    fields = ["transcription_id", "status", "language", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return voice_content.may_hear(request.user)  # transcripts are voice-grade content (issue 24)


@admin.register(Recording)
class RecordingAdmin(LiveChangeListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["recording_id", "status", "source", "conference_id", "call_control_id", "recorded_at",
                    "duration_seconds", "size_bytes", "download_attempts"]
    list_filter = ["status", "source", "format", "channels", "recorded_at"]
    search_fields = ["recording_id", "conference_id", "call_control_id", "call_session_id", "transcriptions__text"]
    date_hierarchy = "recorded_at"
    inlines = [TranscriptionInline]  # plays and downloads: the audit trail
    actions = ["redownload", "delete_at_telnyx", "export_zip"]

    def get_fields(self, request, obj=None):
        fields = [f.name for f in self.model._meta.fields if f.name not in ("id", "file")] + ["audio"]
        if not request.user.has_perm(access.LISTEN):
            fields = [f for f in fields if f not in LISTENER_FIELDS]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def get_search_fields(self, request):
        # Searching transcripts would reveal their words to someone who may not read them (issue 24).
        if voice_content.may_hear(request.user):
            return self.search_fields
        return [f for f in self.search_fields if not f.startswith("transcriptions__")]

    def get_actions(self, request):
        available = super().get_actions(request)
        needs = {"redownload": access.LISTEN, "export_zip": access.LISTEN, "delete_at_telnyx": deletion.DELETE}
        return {name: value for name, value in available.items() if name not in needs or request.user.has_perm(needs[name])}

    @admin.display(description="Audio")
    def audio(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        if not obj.is_playable:
            return "—"
        url = reverse("recording-audio", args=[obj.recording_id])
        return format_html('<audio controls preload="none" src="{}"></audio> <a href="{}?download=1">Download</a>', url, url)

    @admin.action(description="Download again from Telnyx")
    def redownload(self, request, queryset):
        try:
            count = capture.recordings_redownload(queryset=queryset, user=request.user)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Download queued for {count} recording(s).", messages.SUCCESS)

    @admin.action(description="Delete at Telnyx and here (keeps a tombstone)")
    def delete_at_telnyx(self, request, queryset):
        if not request.POST.get("confirmed"):
            return TemplateResponse(request, "admin/confirm_command.html", {
                **self.admin_site.each_context(request),
                "title": "Delete recordings: are you sure?", "description": "Delete at Telnyx and here",
                "objects": queryset, "action_name": "delete_at_telnyx",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME, "opts": self.model._meta,
            })
        try:
            issued, skipped = deletion.recordings_delete_request(recordings=queryset, user=request.user, door=Command.Door.ADMIN)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if issued:
            self.message_user(request, f"Deletion queued for {len(issued)} recording(s).", messages.SUCCESS)
        if skipped:
            self.message_user(request, "Not deleted: " + "; ".join(skipped), messages.WARNING)

    @admin.action(description="Export selected as ZIP")
    def export_zip(self, request, queryset):
        try:
            return serving.zip_response(recordings=queryset, user=request.user, door="admin")
        except (PermissionDenied, serving.TooManyForZip) as exc:
            self.message_user(request, str(exc), messages.ERROR)


@admin.register(Transcription)
class TranscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["transcription_id", "recording", "status", "language", "created_at"]
    list_filter = ["status", "language"]
    search_fields = ["transcription_id", "recording__recording_id", "text"]
    list_select_related = ["recording"]

