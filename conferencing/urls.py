from django.urls import path

from conferencing import views

urlpatterns = [
    path("conferences/", views.conference_list, name="conference-list"),
    path("conferences/new/", views.conference_create, name="conference-create"),
    path("conferences/sync/", views.conference_sync, name="conference-sync"),
    path("conferences/<str:conference_id>/", views.conference_detail, name="conference-detail"),
    path("conferences/<str:conference_id>/live/", views.conference_live, name="conference-live"),
    path("conferences/<str:conference_id>/timeline/", views.conference_timeline, name="conference-timeline"),
    path("conferences/<str:conference_id>/recordings/", views.conference_recordings, name="conference-recordings"),
    path("conferences/<str:conference_id>/controls/", views.conference_controls, name="conference-controls"),
]
