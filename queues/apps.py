"""Call queues and the callers waiting in them."""
from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "queues"
