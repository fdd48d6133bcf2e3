"""The alert banner and navigation count on every page, read only if the page renders them."""
from django.utils.functional import SimpleLazyObject

from alerts.selectors import banner_context


def banner(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"alert_banner": SimpleLazyObject(banner_context)}
