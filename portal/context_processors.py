"""Template context every portal page needs."""
from django.conf import settings

from webhooks.lag import lag_seconds


def portal(request):
    return {"sandbox_mode": settings.PORTAL_SANDBOX, "applying_lag_seconds": lag_seconds}
