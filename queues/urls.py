from django.urls import path

from queues import views

urlpatterns = [path("queues/", views.queue_list, name="queue-list")]
