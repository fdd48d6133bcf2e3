"""Until a password sign-in gives its second factor (or enrols), the session opens nothing but those pages."""
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.two_factor import Standing, session_standing

# The pages a session owing its second factor may still open (besides those needing no sign-in at all).
OPEN_WHILE_PENDING = {"second-factor-verify", "second-factor-enrol", "logout"}


class SecondFactorMiddleware:
    """Sends a session owing its second factor to the verification or enrolment page; the API sees no user.

    Runs after Django's authentication and the login-required middleware (settings.py). API tokens are not
    sessions and are unaffected: only the session is taken away from an API request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # DRF marks every API view login_not_required (it authenticates itself), so /api/ is checked by path.
        is_api = request.path_info.startswith("/api/")
        if not is_api and not getattr(view_func, "login_required", True):
            return None
        if not request.user.is_authenticated:
            return None
        standing = session_standing(request.session, request.user)
        if not standing.pending:
            return None
        match = request.resolver_match
        if match is not None and match.url_name in OPEN_WHILE_PENDING:
            return None
        if is_api:
            if request.headers.get("Authorization"):
                request.user = AnonymousUser()  # a token, if any, authenticates; the session does not
                return None
            return JsonResponse(
                {"message": "Two-factor sign-in is not finished: give your code at /login/verify/.", "extra": {}},
                status=403,
            )
        page = "second-factor-verify" if standing is Standing.VERIFY else "second-factor-enrol"
        return redirect(f"{reverse(page)}?{urlencode({'next': request.get_full_path()})}")


class SecondFactorWebsocketMiddleware:
    """Channels middleware (inside AuthMiddlewareStack): a session owing its second factor is anonymous."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        session = scope.get("session")
        if user is not None and session is not None and await self._pending(session, user):
            scope = dict(scope, user=AnonymousUser())
        return await self.inner(scope, receive, send)

    @database_sync_to_async
    def _pending(self, session, user) -> bool:
        return user.is_authenticated and session_standing(session, user).pending
