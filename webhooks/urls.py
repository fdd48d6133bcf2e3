"""Webhook endpoint and Events pages."""
from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhooks/telnyx/", views.telnyx_webhook, name="telnyx-webhook"),
    path("events/", views.event_list, name="event-list"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
]
