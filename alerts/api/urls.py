from rest_framework.routers import SimpleRouter

from alerts.api.views import AlertChannelViewSet, AlertRuleViewSet, AlertViewSet

router = SimpleRouter()
router.register("alert-rules", AlertRuleViewSet, basename="alert-rule")
router.register("alert-channels", AlertChannelViewSet, basename="alert-channel")
router.register("alerts", AlertViewSet, basename="alert")
urlpatterns = router.urls
