from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api import views

router = SimpleRouter()
router.register("orders", views.OrderViewSet, basename="order")

urlpatterns = [
    path("pickups/redeem/", views.PickupRedeemView.as_view(), name="pickup-redeem"),
    path("track/<str:number>/", views.OrderTrackView.as_view(), name="order-track"),
    *router.urls,
]
