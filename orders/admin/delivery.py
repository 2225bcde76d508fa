"""Delivery in the admin: methods with their rates, zones with their areas (orders.services.delivery).

These are the shop's price list, edited in forms like the catalogue's tax categories: the
database's constraints (one band per method, zone, currency and weight; one zone per country and
postal prefix; one default method per kind; no negative price) refuse what would make a price
ambiguous, and the form shows why. Orders keep the method, zone, charge and VAT they were placed
with, so changing a price never changes an order already placed.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Count, ForeignKey, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from orders.models import DeliveryMethod, DeliveryRate, DeliveryZone, DeliveryZoneArea


class DeliveryRateInline(admin.TabularInline):
    model = DeliveryRate
    fields = ("zone", "currency", "max_weight_grams", "price", "free_over")
    extra = 0
    ordering = ("zone__code", "currency", "max_weight_grams")

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryRate]:
        return super().get_queryset(request).select_related("zone")

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "zone" and isinstance(field, ModelChoiceField):
            # One query for the zones of the whole page, not one per rate row's dropdown.
            cached = getattr(request, "_delivery_zone_choices", None)
            if cached is None:
                cached = list(field.choices)  # type: ignore[arg-type]
                request._delivery_zone_choices = cached  # type: ignore[attr-defined]
            field.choices = cached
        return field


@admin.register(DeliveryMethod)
class DeliveryMethodAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "is_default", "is_active", "tax_category", "position", "rate_count")
    list_filter = ("kind", "is_active", "is_default", ("rates__zone", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name")
    list_select_related = ("tax_category",)
    ordering = ("kind", "position", "code")
    inlines = (DeliveryRateInline,)
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "is_default", "is_active", "position")}),
        (_("Charge"), {"fields": ("tax_category",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryMethod]:
        # A subquery, not Count("rates"): the zone filter joins the rates again and would multiply the count.
        rates = (
            DeliveryRate.objects.filter(method=OuterRef("pk"))
            .order_by()
            .values("method")
            .annotate(total=Count("pk"))
            .values("total")
        )
        return (
            super().get_queryset(request).annotate(rate_total=Coalesce(Subquery(rates, output_field=IntegerField()), 0))
        )

    @admin.display(description=_("rates"), ordering="rate_total")
    def rate_count(self, method: Any) -> Any:
        # Pickup and locker methods without rates are free; a method that ships is offered only where priced.
        if method.rate_total:
            return method.rate_total
        return _("free everywhere") if method.kind != "ship" else _("none: not offered")


class DeliveryZoneAreaInline(admin.TabularInline):
    model = DeliveryZoneArea
    fields = ("country", "postal_code_prefix")
    extra = 1


class AreaCountryFilter(admin.SimpleListFilter):
    title = _("country")
    parameter_name = "country"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        countries = DeliveryZoneArea.objects.order_by("country").values_list("country", flat=True).distinct()
        return [(country, country) for country in countries]

    def queryset(self, request: HttpRequest, queryset: QuerySet[DeliveryZone]) -> QuerySet[DeliveryZone]:
        value = self.value()
        return queryset.filter(areas__country=value).distinct() if value else queryset


@admin.register(DeliveryZone)
class DeliveryZoneAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "areas_column")
    list_filter = (AreaCountryFilter,)
    search_fields = ("code", "name", "=areas__country", "areas__postal_code_prefix")
    search_help_text = _("Zone code or name, a country code (ES) or a postal-code prefix.")
    inlines = (DeliveryZoneAreaInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[DeliveryZone]:
        return super().get_queryset(request).prefetch_related("areas")

    @admin.display(description=_("areas"))
    def areas_column(self, zone: DeliveryZone) -> str:
        return ", ".join(str(area) for area in zone.areas.all())
