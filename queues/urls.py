"""Queue pages. Fixed pages avoid /queues/<word>/ so that any queue name can be addressed there."""
from django.urls import path

from queues import views

urlpatterns = [
    path("queues/", views.queue_list, name="queue-list"),
    path("wallboard/queues/", views.wallboard, name="queue-wallboard"),
    path("queues/<str:name>/", views.queue_detail, name="queue-detail"),
    path("queues/<str:name>/live/", views.queue_live, name="queue-live"),
    path("queues/<str:name>/settings/", views.queue_settings, name="queue-settings"),
]
