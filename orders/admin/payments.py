"""Money on orders: an order's payments, and the store-credit ledger."""

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.admin_kit import ReadOnlyAdminMixin, ReadOnlyInline, TermSearchMixin
from customers.models import Customer
from customers.selectors import customer_search_q
from orders.models import Payment, StoreCreditEntry


class PaymentInline(ReadOnlyInline):
    model = Payment
    fk_name = "order"
    fields = ("created_at", "kind", "method", "amount", "points", "provider_reference", "channel", "user")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return super().get_queryset(request).select_related("user")


@admin.register(StoreCreditEntry)
class StoreCreditEntryAdmin(ReadOnlyAdminMixin, TermSearchMixin, admin.ModelAdmin):
    """The store-credit ledger, read-only: credit is granted by refunds and spent on orders."""

    list_display = ("created_at", "customer", "amount", "currency", "reference", "reason", "channel")
    list_filter = ("channel", "currency", "reason")
    search_fields = ("reference",)
    search_help_text = _("The customer's e-mail, phone, handle, tax id or name, or an order number.")
    list_select_related = ("customer",)
    fields = ("created_at", "customer", "amount", "currency", "reference", "reason", "channel")
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    def search(
        self, request: HttpRequest, queryset: QuerySet[StoreCreditEntry], term: str
    ) -> QuerySet[StoreCreditEntry]:
        customers = Customer.objects.filter(customer_search_q(term)).values("pk")
        return queryset.filter(Q(customer__in=customers) | Q(reference__iexact=term))
