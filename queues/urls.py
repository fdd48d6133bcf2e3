"""Queue pages. Fixed pages avoid /queues/<word>/ so that any queue name can be addressed there."""
from django.urls import path

from queues import views

urlpatterns = [
    path("queues/", views.queue_list, name="queue-list"),
    path("wallboard/queues/", views.wallboard, name="queue-wallboard"),
    # <path:...>: a queue name Telnyx reports may hold "/", and reversing a <str:...> address for it
    # raised NoReverseMatch, a 500 on the whole board (issue 23). The longer patterns come first.
    path("queues/<path:name>/live/", views.queue_live, name="queue-live"),
    path("queues/<path:name>/settings/", views.queue_settings, name="queue-settings"),
    path("queues/<path:name>/", views.queue_detail, name="queue-detail"),
]
