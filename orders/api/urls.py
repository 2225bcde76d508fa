from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api import delivery, views

router = SimpleRouter()
router.register("orders", views.OrderViewSet, basename="order")

urlpatterns = [
    path("delivery-quotes/", delivery.DeliveryQuoteView.as_view(), name="delivery-quote"),
    path("pickups/redeem/", views.PickupRedeemView.as_view(), name="pickup-redeem"),
    path("track/<str:number>/", views.OrderTrackView.as_view(), name="order-track"),
    *router.urls,
]
