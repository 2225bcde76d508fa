"""Money on orders: an order's payments (the store-credit ledger is customers')."""

from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin_kit import ReadOnlyInline
from orders.models import Payment


class PaymentInline(ReadOnlyInline):
    model = Payment
    fk_name = "order"
    fields = ("created_at", "kind", "method", "amount", "points", "provider_reference", "channel", "user")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("user")
