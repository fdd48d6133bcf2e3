"""/api/v1/: the one action door, the commands audit, and each app's own `<app>/api/urls.py`."""
from importlib import import_module

from django.apps import apps
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from portal.commands.api import ActionView, CommandViewSet

app_name = "api"

router = DefaultRouter()
router.register("commands", CommandViewSet, basename="command")


def _app_routes() -> list:
    """Include `<app>.api.urls` for every installed app that has one."""
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
    return routes


urlpatterns = [
    path("<str:plural>/<str:target>/actions/<str:action>/", ActionView.as_view(), name="action"),
    path("", include(router.urls)),
    *_app_routes(),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
