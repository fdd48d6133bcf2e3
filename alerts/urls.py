"""Alert pages."""
from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/banner/", views.alert_banner, name="alert-banner"),
    path("alerts/rules/", views.rule_list, name="alert-rules"),
    path("alerts/channels/<int:pk>/test/", views.channel_test, name="alert-channel-test"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
]
