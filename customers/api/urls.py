from rest_framework.routers import SimpleRouter

from customers.api.views import CustomerViewSet, EventViewSet, SegmentViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("events", EventViewSet, basename="event")
router.register("segments", SegmentViewSet, basename="segment")

urlpatterns = router.urls
