"""Every portal URL, and the naive-minimum webhook the intake is compared with."""
from django.urls import path

from bench.reference import bare_webhook
from portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [path("bench/bare-webhook/", bare_webhook, name="bench-bare-webhook"), *portal_urlpatterns]
