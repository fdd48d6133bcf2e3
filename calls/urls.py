from django.urls import path

from calls import views

urlpatterns = [
    path("calls/", views.call_list_view, name="call-list"),
    path("calls/<str:call_control_id>/", views.call_detail_view, name="call-detail"),
    path("calls/<str:call_control_id>/live/", views.call_live_view, name="call-live"),
    path("calls/<str:call_control_id>/timeline/", views.call_timeline_view, name="call-timeline"),
    path("calls/<str:call_control_id>/heard/", views.call_heard_view, name="call-heard"),
    path("calls/<str:call_control_id>/links/", views.call_links_view, name="call-links"),
    path("calls/<str:call_control_id>/listen-in/", views.call_listen_in_view, name="call-listen-in"),
]
