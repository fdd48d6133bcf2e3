"""Alerts: rules over queue and system metrics, alerts people acknowledge, delivery by e-mail and webhook."""
from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
