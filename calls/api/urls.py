from rest_framework.routers import SimpleRouter

from calls.api.views import CallViewSet

router = SimpleRouter()
router.register("calls", CallViewSet, basename="call")
urlpatterns = router.urls
