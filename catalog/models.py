from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from catalog.validators import validate_barcode, validate_price
from config.money import money_round


class TaxCategory(models.Model):
    """A VAT class (general, reduced...). Prices include its rate."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    rate = models.DecimalField(
        _("VAT rate (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(99))],
    )

    class Meta:
        verbose_name = _("tax category")
        verbose_name_plural = _("tax categories")
        ordering = ("name",)
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="tax_category_rate_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate}%)"


class Category(MP_Node):
    """A node in the category tree; `path` makes "this category and below" one index scan."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=140, unique=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True)
    description = models.TextField(_("description"), blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True, db_index=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    tax_category = models.ForeignKey(
        TaxCategory, verbose_name=_("tax category"), on_delete=models.PROTECT, related_name="products"
    )
    is_active = models.BooleanField(_("active"), default=True, db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """What is sold and stocked: one SKU, one size and colour, one price for every channel."""

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    barcode = models.CharField(
        _("barcode"),
        max_length=13,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_barcode],
        help_text=_("EAN-13, UPC-A or EAN-8."),
    )
    size = models.CharField(_("size"), max_length=30, blank=True, db_index=True)
    colour = models.CharField(_("colour"), max_length=40, blank=True, db_index=True)
    attributes = models.JSONField(_("other attributes"), default=dict, blank=True)
    price = models.DecimalField(
        _("price"),
        max_digits=12,
        decimal_places=2,
        validators=[validate_price],
        help_text=_("Tax included."),
    )
    compare_at_price = models.DecimalField(
        _("compare-at price"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[validate_price],
        help_text=_("The former price, shown crossed out; higher than the price."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    weight_grams = models.PositiveIntegerField(
        _("weight (g)"),
        default=0,
        help_text=_("Packed weight in grams: delivery prices by the basket's weight. 0 when not known."),
    )

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ("product_id", "id")
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="variant_price_positive"),
            models.CheckConstraint(
                condition=Q(compare_at_price__isnull=True) | Q(compare_at_price__gt=models.F("price")),
                name="variant_compare_at_above_price",
            ),
        ]

    def __str__(self) -> str:
        details = " / ".join(part for part in (self.size, self.colour) if part)
        return f"{self.sku} {self.product.name}" + (f" ({details})" if details else "")

    def clean(self) -> None:
        if self.barcode == "":
            self.barcode = None
        if self.compare_at_price is not None and self.price is not None and self.compare_at_price <= self.price:
            raise ValidationError(
                {"compare_at_price": _("The compare-at price must be higher than the price.")},
                code="compare_at_not_above_price",
            )


class PromotionKind(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage off")
    FIXED_AMOUNT = "fixed_amount", _("Fixed amount off")


class PromotionQuerySet(models.QuerySet["Promotion"]):
    def running_at(self, at: datetime) -> "PromotionQuerySet":
        return self.filter(Q(is_active=True), Q(starts_at__lte=at), Q(ends_at__isnull=True) | Q(ends_at__gt=at))


class Promotion(models.Model):
    """A discount for categories (and everything below them), products or variants, in a window.

    The same promotions apply in every channel. When several apply to a variant, the
    customer gets the lowest price; they never stack (see catalog.pricing).
    """

    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=PromotionKind.choices)
    value = models.DecimalField(
        _("value"),
        max_digits=12,
        decimal_places=2,
        help_text=_("Percentage (1-100) or amount off, tax included."),
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True, help_text=_("Empty: no end."))
    is_active = models.BooleanField(_("active"), default=True)
    categories = models.ManyToManyField(Category, verbose_name=_("categories"), blank=True, related_name="promotions")
    products = models.ManyToManyField(Product, verbose_name=_("products"), blank=True, related_name="promotions")
    variants = models.ManyToManyField(Variant, verbose_name=_("variants"), blank=True, related_name="promotions")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PromotionQuerySet.as_manager()

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ("-starts_at", "id")
        constraints = [
            models.CheckConstraint(condition=Q(value__gt=0), name="promotion_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percentage") | Q(value__lte=100), name="promotion_percentage_at_most_100"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="promotion_window_ordered",
            ),
            models.CheckConstraint(condition=Q(kind__in=PromotionKind.values), name="promotion_kind_valid"),
        ]
        indexes = [models.Index(fields=("is_active", "starts_at", "ends_at"), name="promotion_window_idx")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.value is not None and self.value <= 0:
            errors["value"] = _("The value must be greater than zero.")
        elif self.kind == PromotionKind.PERCENTAGE and self.value is not None and self.value > 100:
            errors["value"] = _("A percentage cannot exceed 100.")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must come after the start.")
        if errors:
            raise ValidationError(errors)

    def discounted(self, price: Decimal) -> Decimal:
        """The price after this promotion, rounded to the currency, never below zero."""
        if self.kind == PromotionKind.PERCENTAGE:
            reduced = price * (Decimal(100) - self.value) / Decimal(100)
        else:
            reduced = price - self.value
        return max(money_round(reduced, settings.DEFAULT_CURRENCY), Decimal(0))
