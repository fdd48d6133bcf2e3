"""/api/v1/: the one action door, the commands audit, and each app's own `<app>/api/urls.py`."""
from importlib import import_module

from django.apps import apps
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import APIRootView, SimpleRouter

from portal.api import schema  # noqa: F401 - registers the token scheme's schema extension
from portal.commands.api import ActionView, CommandViewSet, action_routes

app_name = "api"

router = SimpleRouter()
router.register("commands", CommandViewSet, basename="command")

# GET /api/v1/: every resource's list, and the schema and docs (DRF's browsable root, for every app).
RESOURCES = {"commands": "command-list"}


def _app_routes() -> list:
    """Include `<app>.api.urls` for every installed app that has one (and list its router's resources)."""
    routes = []
    for config in apps.get_app_configs():
        module = f"{config.name}.api.urls"
        if module == __name__:
            continue
        try:
            import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name not in (module, f"{config.name}.api"):
                raise
            continue
        routes.append(path("", include(module)))
        app_router = getattr(import_module(module), "router", None)
        for prefix, _viewset, basename in getattr(app_router, "registry", []):
            RESOURCES[prefix] = f"{basename}-list"
    return routes



class SchemaView(SpectacularAPIView):
    """The OpenAPI document; its errors (401 without a login) in JSON like the rest of /api/, not YAML."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response


class DocsView(SpectacularSwaggerView):
    """Interactive docs: a page for people, so no login means the login page (then back here)."""

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response


app_routes = _app_routes()
urlpatterns = [
    path("", APIRootView.as_view(api_root_dict={**dict(sorted(RESOURCES.items())), "schema": "schema", "docs": "docs"}),
         name="api-root"),
    *action_routes(),
    path("<str:plural>/<str:target>/actions/<str:action>/", ActionView.as_view(), name="action"),
    path("", include(router.urls)),
    *app_routes,
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
]
