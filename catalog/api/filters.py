from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from catalog import selectors
from catalog.extensions import product_list_in_stock
from catalog.models import Category, Product
from catalog.pricing import RunningPromotions, running_promotions_for_request

BOOLEAN_CHOICES = (("true", "true"), ("false", "false"), ("1", "1"), ("0", "0"))


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """true/false/1/0; anything else is a 400, not silently ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", BOOLEAN_CHOICES)
        kwargs.setdefault("coerce", lambda value: value in {"true", "1"})
        kwargs.setdefault("empty_value", None)
        super().__init__(*args, **kwargs)


class ProductFilter(django_filters.FilterSet):
    """Product list filters. Bounds and variant facets combine on one variant:
    `price_min` with `price_max`, and `size` with `colour`, must hold for the same variant."""

    category = django_filters.CharFilter(
        method="filter_category", help_text=_("Category id or slug; includes its descendants.")
    )
    brand = django_filters.CharFilter(field_name="brand", lookup_expr="iexact")
    price_min = django_filters.NumberFilter(
        method="filter_variants", min_value=Decimal(0), help_text=_("Lowest effective price, tax included.")
    )
    price_max = django_filters.NumberFilter(
        method="filter_variants", min_value=Decimal(0), help_text=_("Highest effective price, tax included.")
    )
    size = django_filters.CharFilter(method="filter_variants")
    colour = django_filters.CharFilter(method="filter_variants")
    active = StrictBooleanFilter(field_name="is_active", help_text=_("Without it, only active products are listed."))
    on_promotion = StrictBooleanFilter(method="filter_on_promotion")
    in_stock = StrictBooleanFilter(method="filter_in_stock", help_text=_("Available now at any active location."))
    in_stock_at = django_filters.CharFilter(
        method="filter_in_stock_at", help_text=_("Location code: available now at that location.")
    )

    class Meta:
        model = Product
        fields = (
            "category",
            "brand",
            "price_min",
            "price_max",
            "size",
            "colour",
            "active",
            "on_promotion",
            "in_stock",
            "in_stock_at",
        )

    @property
    def running_promotions(self) -> RunningPromotions:
        return running_promotions_for_request(self.request)

    @property
    def qs(self) -> QuerySet[Product]:
        queryset = super().qs
        if self.form.cleaned_data.get("active") is None:
            queryset = queryset.filter(is_active=True)
        return queryset

    def filter_queryset(self, queryset: QuerySet[Product]) -> QuerySet[Product]:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        lookups = {f"{name}__iexact": data[name] for name in ("size", "colour") if data.get(name) not in (None, "")}
        if lookups:
            queryset = selectors.product_list_with_variant(queryset=queryset, is_active=True, **lookups)
        if data.get("price_min") is not None or data.get("price_max") is not None:
            queryset = selectors.product_list_in_price_range(
                queryset=queryset,
                minimum=data.get("price_min"),
                maximum=data.get("price_max"),
                running=self.running_promotions,
            )
        return queryset

    def filter_variants(self, queryset: QuerySet[Product], name: str, value: Any) -> QuerySet[Product]:
        return queryset  # applied together in filter_queryset

    def filter_category(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        category = selectors.category_get(key=value)
        if category is None:
            return queryset.none()
        return selectors.product_list_in_category(queryset=queryset, category=category)

    def filter_in_stock(self, queryset: QuerySet[Product], name: str, value: bool | None) -> QuerySet[Product]:
        if value is None:
            return queryset
        in_stock = _in_stock(queryset, None)
        return in_stock if value else queryset.exclude(pk__in=in_stock.values("pk"))

    def filter_in_stock_at(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return _in_stock(queryset, value)

    def filter_on_promotion(self, queryset: QuerySet[Product], name: str, value: bool | None) -> QuerySet[Product]:
        if value is None:
            return queryset
        return selectors.product_list_on_promotion(
            queryset=queryset, on_promotion=value, running=self.running_promotions
        )


def _in_stock(queryset: QuerySet[Product], location_code: str | None) -> QuerySet[Product]:
    return product_list_in_stock(queryset=queryset, location_code=location_code)


class CategoryFilter(django_filters.FilterSet):
    class Meta:
        model = Category
        fields = ("depth",)
