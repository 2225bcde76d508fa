"""Catalog's representations that other apps' APIs embed: a variant with its price, its product.

The customers' recently-viewed list shows a variant as the catalog's API does; it imports these,
never catalog.api (an app's api is its own: pyproject.toml's import-linter contracts).
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Category, Product, Promotion, Variant
from catalog.pricing import EffectivePrice
from config.money import money_round


class MoneyField(serializers.DecimalField):
    """An amount as a string with exactly the currency's decimals ("19990" in CLP, "19.90" in EUR)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return str(money_round(Decimal(value), settings.DEFAULT_CURRENCY))


class CategoryRefSerializer(serializers.ModelSerializer[Category]):
    class Meta:
        model = Category
        fields = ("id", "name", "slug")


class PromotionRefSerializer(serializers.ModelSerializer[Promotion]):
    value = MoneyField(read_only=True)

    class Meta:
        model = Promotion
        fields = ("id", "name", "kind", "value", "starts_at", "ends_at")


class VariantSerializer(serializers.ModelSerializer[Variant]):
    """A variant with its effective price, computed once per response by catalog.pricing."""

    price = MoneyField(read_only=True)
    compare_at_price = serializers.SerializerMethodField()
    effective_price = serializers.SerializerMethodField()
    promotion = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields: tuple[str, ...] = (
            "id",
            "sku",
            "barcode",
            "size",
            "colour",
            "attributes",
            "price",
            "compare_at_price",
            "effective_price",
            "promotion",
            "currency",
            "is_active",
            "weight_grams",
        )

    def _price(self, variant: Variant) -> EffectivePrice:
        prices: dict[int, EffectivePrice] = self.context["prices"]
        return prices[variant.pk]

    @extend_schema_field(
        MoneyField(
            allow_null=True,
            help_text="Shown crossed out: the regular price under a promotion, else the former price; null if none.",
        )
    )
    def get_compare_at_price(self, variant: Variant) -> str | None:
        amount = self._price(variant).compare_at_price
        return None if amount is None else MoneyField().to_representation(amount)

    @extend_schema_field(MoneyField(help_text="What the customer pays now: promotions applied."))
    def get_effective_price(self, variant: Variant) -> str:
        return MoneyField().to_representation(self._price(variant).amount)

    @extend_schema_field(PromotionRefSerializer(allow_null=True))
    def get_promotion(self, variant: Variant) -> dict[str, Any] | None:
        promotion = self._price(variant).promotion
        return None if promotion is None else PromotionRefSerializer(promotion).data

    def get_currency(self, variant: Variant) -> str:
        return settings.DEFAULT_CURRENCY


class ProductRefSerializer(serializers.ModelSerializer[Product]):
    category = CategoryRefSerializer(read_only=True)
    vat_rate = serializers.DecimalField(source="tax_category.rate", max_digits=5, decimal_places=2, read_only=True)

    class Meta:
        model = Product
        fields = ("id", "slug", "name", "brand", "category", "vat_rate", "is_active")


class VariantDetailSerializer(VariantSerializer):
    product = ProductRefSerializer(read_only=True)

    class Meta(VariantSerializer.Meta):
        fields = (*VariantSerializer.Meta.fields, "product")
