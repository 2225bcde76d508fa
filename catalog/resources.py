"""CSV/XLSX import and export of products with their variants: one row per variant."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from catalog.models import Category, TaxCategory, Variant
from catalog.services import product_upsert
from catalog.validators import barcode_normalise

PRODUCT_COLUMNS = (
    "product_slug",
    "product_name",
    "brand",
    "category",
    "tax_category",
    "description",
    "product_active",
)


class MoneyWidget(widgets.DecimalWidget):
    """A decimal cell; an unreadable one becomes a row error naming its field."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Decimal | None:
        try:
            return super().clean(value, row, **kwargs)
        except InvalidOperation:
            raise ValueError(_("%(value)r is not a number.") % {"value": value}) from None


class WeightWidget(widgets.IntegerWidget):
    """Grams; an empty cell is an unknown weight (0)."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> int:
        if value is None or str(value).strip() == "":
            return 0
        try:
            return int(super().clean(value, row, **kwargs))
        except (ValueError, InvalidOperation):
            raise ValueError(_("%(value)r is not a whole number of grams.") % {"value": value}) from None


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "si", "sí", "y"}


class ProductVariantResource(resources.ModelResource):
    """Rows create or update variants by SKU; product columns create or update the product by slug."""

    product_slug = fields.Field(attribute="product__slug", column_name="product_slug", readonly=True)
    product_name = fields.Field(attribute="product__name", column_name="product_name", readonly=True)
    brand = fields.Field(attribute="product__brand", column_name="brand", readonly=True)
    category = fields.Field(attribute="product__category__slug", column_name="category", readonly=True)
    tax_category = fields.Field(attribute="product__tax_category__code", column_name="tax_category", readonly=True)
    description = fields.Field(attribute="product__description", column_name="description", readonly=True)
    product_active = fields.Field(
        attribute="product__is_active", column_name="product_active", readonly=True, widget=widgets.BooleanWidget()
    )
    attributes = fields.Field(attribute="attributes", column_name="attributes", widget=widgets.JSONWidget())
    price = fields.Field(attribute="price", column_name="price", widget=MoneyWidget())
    compare_at_price = fields.Field(attribute="compare_at_price", column_name="compare_at_price", widget=MoneyWidget())
    # Optional: a file without the column leaves weights as they are.
    weight_grams = fields.Field(attribute="weight_grams", column_name="weight_grams", widget=WeightWidget())

    class Meta:
        model = Variant
        import_id_fields = ("sku",)
        fields = (
            *PRODUCT_COLUMNS,
            "sku",
            "barcode",
            "size",
            "colour",
            "price",
            "compare_at_price",
            "attributes",
            "is_active",
            "weight_grams",
        )
        export_order = fields
        clean_model_instances = True
        skip_unchanged = False
        use_transactions = True

    def get_queryset(self) -> Any:
        return Variant.objects.select_related("product__category", "product__tax_category").order_by(
            "product__slug", "sku"
        )

    def import_instance(self, instance: Variant, row: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if instance.barcode:
            instance.barcode = barcode_normalise(str(instance.barcode))
        else:
            instance.barcode = None
        if instance.attributes is None:
            instance.attributes = {}
        try:
            instance.product = self._product_for(row)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def _product_for(self, row: dict[str, Any]) -> Any:
        slug = (row.get("product_slug") or "").strip()
        if not slug:
            raise ValidationError({"product_slug": _("Every row names its product's slug.")})
        category_slug = (row.get("category") or "").strip()
        category = Category.objects.filter(slug=category_slug).first()
        if category is None:
            raise ValidationError({"category": _("Unknown category %(slug)r.") % {"slug": category_slug}})
        tax_code = (row.get("tax_category") or "").strip()
        tax_category = TaxCategory.objects.filter(code=tax_code).first()
        if tax_category is None:
            raise ValidationError({"tax_category": _("Unknown tax category %(code)r.") % {"code": tax_code}})
        active = row.get("product_active")
        return product_upsert(
            slug=slug,
            name=(row.get("product_name") or "").strip(),
            brand=(row.get("brand") or "").strip(),
            description=row.get("description") or "",
            category=category,
            tax_category=tax_category,
            is_active=True if active in (None, "") else _truthy(active),
        )
