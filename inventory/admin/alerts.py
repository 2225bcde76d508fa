"""Low-stock alerts: raised and resolved by the stock services, read here."""

from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from config.admin_kit import QueryChoiceFilter, ReadOnlyAdminMixin
from inventory.admin.common import LocationFilter, LocationScopedAdmin
from inventory.models import LowStockAlert


class AlertLocationFilter(LocationFilter):
    paths = ("stock_level__location",)


class AlertStateFilter(QueryChoiceFilter):
    title = _("state")
    parameter_name = "state"
    queries = {
        "open": (_("Open"), Q(resolved_at__isnull=True)),
        "resolved": (_("Resolved"), Q(resolved_at__isnull=False)),
    }


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    location_lookups = ("stock_level__location",)
    list_display = (
        "location_code",
        "sku",
        "product",
        "available",
        "threshold",
        "available_now",
        "is_open",
        "created_at",
        "notified_at",
        "resolved_at",
    )
    list_filter = (AlertStateFilter, AlertLocationFilter)
    search_fields = ("stock_level__variant__sku", "=stock_level__variant__barcode")
    list_select_related = ("stock_level__location", "stock_level__variant__product")
    # Open alerts first (no resolved_at), then the most recently resolved; newest first within.
    ordering = (F("resolved_at").desc(nulls_first=True), "-created_at")
    fields = (
        "stock_level_link",
        "available",
        "threshold",
        "available_now",
        "created_at",
        "notified_at",
        "resolved_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[LowStockAlert]:
        return super().get_queryset(request).select_related("stock_level__location", "stock_level__variant__product")

    @admin.display(description=_("location"), ordering="stock_level__location__code")
    def location_code(self, alert: LowStockAlert) -> str:
        return alert.stock_level.location.code

    @admin.display(description=_("SKU"), ordering="stock_level__variant__sku")
    def sku(self, alert: LowStockAlert) -> str:
        return alert.stock_level.variant.sku

    @admin.display(description=_("product"))
    def product(self, alert: LowStockAlert) -> str:
        return alert.stock_level.variant.product.name

    @admin.display(description=_("available now"))
    def available_now(self, alert: LowStockAlert) -> int:
        return alert.stock_level.available

    @admin.display(description=_("open"), boolean=True)
    def is_open(self, alert: LowStockAlert) -> bool:
        return alert.resolved_at is None

    @admin.display(description=_("stock level"))
    def stock_level_link(self, alert: LowStockAlert) -> str:
        level = alert.stock_level
        return format_html(
            '<a href="{}">{} · {}</a>',
            reverse("admin:inventory_stocklevel_change", args=[level.pk]),
            level.location.code,
            level.variant,
        )
