"""Alert pages."""
from django.urls import path

from alerts import manage_views, views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/banner/", views.alert_banner, name="alert-banner"),
    path("alerts/rules/", views.rule_list, name="alert-rules"),
    path("alerts/rules/new/", manage_views.rule_create, name="alert-rule-create"),
    path("alerts/rules/<int:pk>/edit/", manage_views.rule_edit, name="alert-rule-edit"),
    path("alerts/rules/<int:pk>/enabled/", manage_views.rule_enable, name="alert-rule-enable"),
    path("alerts/rules/<int:pk>/delete/", manage_views.rule_delete, name="alert-rule-delete"),
    path("alerts/channels/new/", manage_views.channel_create, name="alert-channel-create"),
    path("alerts/channels/<int:pk>/edit/", manage_views.channel_edit, name="alert-channel-edit"),
    path("alerts/channels/<int:pk>/delete/", manage_views.channel_delete, name="alert-channel-delete"),
    path("alerts/channels/<int:pk>/test/", views.channel_test, name="alert-channel-test"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
]
