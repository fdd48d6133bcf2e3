from django.urls import path

from recordings import views

urlpatterns = [
    path("recordings/", views.recording_list_view, name="recording-list"),
    path("recordings/zip/", views.recordings_zip_view, name="recording-zip"),
    path("recordings/delete/", views.recordings_delete_view, name="recording-bulk-delete"),
    path("recordings/<str:recording_id>/", views.recording_detail_view, name="recording-detail"),
    path("recordings/<str:recording_id>/live/", views.recording_live_view, name="recording-live"),
    path("recordings/<str:recording_id>/audio/", views.recording_audio_view, name="recording-audio"),
    path("recordings/<str:recording_id>/redownload/", views.recording_redownload_view, name="recording-redownload"),
]
