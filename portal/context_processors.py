"""Template context every portal page needs."""
from django.conf import settings


def portal(request):
    return {"sandbox_mode": settings.PORTAL_SANDBOX}
