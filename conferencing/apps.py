"""Conferences and their participants."""
from django.apps import AppConfig


class ConferencingConfig(AppConfig):
    name = "conferencing"

    def ready(self):
        from conferencing import actions  # noqa: F401  (declares the conference commands)
