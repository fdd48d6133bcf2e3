from rest_framework.routers import SimpleRouter

from conferencing.api.views import ConferenceViewSet

router = SimpleRouter()
router.register("conferences", ConferenceViewSet, basename="conference")
urlpatterns = router.urls
