"""Conferences and their participants."""
from django.apps import AppConfig


class ConferencingConfig(AppConfig):
    name = "conferencing"
