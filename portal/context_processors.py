"""Template context every portal page needs."""
from django.conf import settings

from portal.catching_up import lag_seconds


def portal(request):
    return {"sandbox_mode": settings.PORTAL_SANDBOX, "applying_lag_seconds": lag_seconds}
