"""/api/v1/: every domain registers its routes here."""
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from portal.commands.api import CommandViewSet

app_name = "api"

router = DefaultRouter()
router.register("commands", CommandViewSet, basename="command")

urlpatterns = [
    path("", include(router.urls)),
    path("", include("conferencing.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
