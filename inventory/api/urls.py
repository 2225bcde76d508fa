from django.urls import path
from rest_framework.routers import SimpleRouter

from inventory.api import views

router = SimpleRouter()
router.register("inventory/locations", views.LocationViewSet, basename="location")
router.register("inventory/stock", views.StockLevelViewSet, basename="stock-level")

urlpatterns = [
    path("inventory/availability/", views.AvailabilityView.as_view(), name="inventory-availability"),
    path("inventory/changes/", views.StockChangesView.as_view(), name="inventory-changes"),
    path("inventory/adjustments/", views.AdjustmentView.as_view(), name="inventory-adjustments"),
    path("inventory/receipts/", views.ReceiptView.as_view(), name="inventory-receipts"),
    *router.urls,
]
