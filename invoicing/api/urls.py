from django.urls import path
from rest_framework.routers import SimpleRouter

from invoicing.api import views

router = SimpleRouter()
router.register("invoices", views.InvoiceViewSet, basename="invoice")

urlpatterns = [
    path("invoices/export/", views.InvoiceExportView.as_view(), name="invoice-export"),
    *router.urls,
]
