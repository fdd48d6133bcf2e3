from django.urls import path

from recordings import views

urlpatterns = [path("recordings/", views.recording_list_view, name="recording-list")]
