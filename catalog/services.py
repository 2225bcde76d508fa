"""Every write to the catalog goes through here (admin forms, import, demo data, API)."""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from catalog.models import Category, Product, Promotion, TaxCategory, Variant
from catalog.validators import barcode_normalise
from config.transactions import use_case


@use_case
def tax_category_create(*, code: str, name: str, rate: Decimal) -> TaxCategory:
    tax_category = TaxCategory(code=code, name=name, rate=rate)
    tax_category.full_clean()
    tax_category.save()
    return tax_category


@use_case
def category_create(*, name: str, slug: str, parent: Category | None = None) -> Category:
    node = Category(name=name, slug=slug)
    node.full_clean(exclude=["path", "depth", "numchild"])
    if parent is None:
        return Category.objects.add_root(instance=node)
    # Treebeard locks the parent row and derives the child's path from its children.
    return Category.objects.add_child(parent, instance=node)


@use_case
def product_create(
    *,
    name: str,
    slug: str,
    category: Category,
    tax_category: TaxCategory,
    brand: str = "",
    description: str = "",
    is_active: bool = True,
) -> Product:
    product = Product(
        name=name,
        slug=slug,
        category=category,
        tax_category=tax_category,
        brand=brand,
        description=description,
        is_active=is_active,
    )
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_upsert(*, slug: str, **fields: Any) -> Product:
    """Create the product with this slug or update the given fields (used by imports)."""
    product = Product.objects.select_for_update().filter(slug=slug).first()
    if product is None:
        return product_create.step(slug=slug, **fields)  # in the import's transaction
    changed = [name for name, value in fields.items() if getattr(product, name) != value]
    for name in changed:
        setattr(product, name, fields[name])
    if changed:
        product.full_clean()
        product.save(update_fields=[*changed, "updated_at"])
    return product


@use_case
def variant_create(
    *,
    product: Product,
    sku: str,
    price: Decimal,
    barcode: str | None = None,
    size: str = "",
    colour: str = "",
    attributes: dict[str, Any] | None = None,
    compare_at_price: Decimal | None = None,
    is_active: bool = True,
    weight_grams: int = 0,
) -> Variant:
    variant = Variant(
        product=product,
        sku=sku.strip(),
        price=price,
        barcode=barcode_normalise(barcode) if barcode else None,
        size=size,
        colour=colour,
        attributes=attributes or {},
        compare_at_price=compare_at_price,
        is_active=is_active,
        weight_grams=weight_grams,
    )
    variant.full_clean()
    variant.save()
    return variant


@use_case
def promotion_create(
    *,
    name: str,
    kind: str,
    value: Decimal,
    starts_at: datetime,
    ends_at: datetime | None = None,
    categories: Iterable[Category] = (),
    products: Iterable[Product] = (),
    variants: Iterable[Variant] = (),
    is_active: bool = True,
) -> Promotion:
    promotion = Promotion(name=name, kind=kind, value=value, starts_at=starts_at, ends_at=ends_at, is_active=is_active)
    promotion.full_clean()
    promotion.save()
    promotion.categories.set(categories)
    promotion.products.set(products)
    promotion.variants.set(variants)
    return promotion


@use_case
def products_set_active(*, products: Iterable[Product], is_active: bool) -> int:
    """Show or hide products in every channel at once."""
    ids = [product.pk for product in products]
    return Product.objects.filter(pk__in=ids).exclude(is_active=is_active).update(is_active=is_active)
