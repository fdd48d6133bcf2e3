"""A throwaway app that only declares actions: proves the bus finds `<app>/actions.py` by itself."""
from django.apps import AppConfig


class DiscoveryAppConfig(AppConfig):
    name = "tests.discovery_app"
    label = "discovery_app"
