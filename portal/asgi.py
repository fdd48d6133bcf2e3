"""ASGI entry point: HTTP to Django, websockets at /ws/live/ for logged-in staff only."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.middleware import SecondFactorWebsocketMiddleware  # noqa: E402
from portal import gc_freeze  # noqa: E402
from portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # A session that still owes its second factor is anonymous to the socket (accounts/middleware.py).
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(SecondFactorWebsocketMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
gc_freeze.freeze_startup_objects()  # the application is loaded: keep full collections off it
