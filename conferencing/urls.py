from django.urls import path

from conferencing import views

urlpatterns = [
    path("conferences/", views.conference_list, name="conference-list"),
    path("conferences/new/", views.conference_create, name="conference-create"),
    path("conferences/sync/", views.conference_sync, name="conference-sync"),
    path("conferences/<str:conference_id>/", views.conference_detail, name="conference-detail"),
    path("conferences/<str:conference_id>/live/", views.conference_live, name="conference-live"),
]
