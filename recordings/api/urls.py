from rest_framework.routers import SimpleRouter

from recordings.api.views import RecordingViewSet

router = SimpleRouter()
router.register("recordings", RecordingViewSet, basename="recording")
urlpatterns = router.urls
