from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from catalog.models import Category, Product, Variant
from catalog.pricing import RunningPromotions


def product_list() -> QuerySet[Product]:
    """Products with everything a listing shows, in a constant number of queries."""
    return Product.objects.select_related("category", "tax_category").prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("id"))
    )


def product_list_in_category(*, queryset: QuerySet[Product], category: Category) -> QuerySet[Product]:
    """Products in a category or any of its descendants."""
    return queryset.filter(category__path__startswith=category.path)


def product_list_on_promotion(
    *, queryset: QuerySet[Product], on_promotion: bool = True, running: RunningPromotions | None = None
) -> QuerySet[Product]:
    running = running or RunningPromotions.at(timezone.now())
    promoted = Variant.objects.filter(running.any_target_q()).values("product_id")
    return queryset.filter(id__in=promoted) if on_promotion else queryset.exclude(id__in=promoted)


def product_list_in_price_range(
    *,
    queryset: QuerySet[Product],
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    running: RunningPromotions | None = None,
) -> QuerySet[Product]:
    """Products with an active variant whose effective price (promotions applied) is in range."""
    running = running or RunningPromotions.at(timezone.now())
    variants = running.annotate_variants(Variant.objects.filter(is_active=True))
    if minimum is not None:
        variants = variants.filter(effective_price__gte=minimum)
    if maximum is not None:
        variants = variants.filter(effective_price__lte=maximum)
    return queryset.filter(id__in=variants.values("product_id"))


def product_list_with_variant(*, queryset: QuerySet[Product], **variant_lookups: object) -> QuerySet[Product]:
    """Products with at least one variant matching, e.g. size__iexact="M"."""
    return queryset.filter(id__in=Variant.objects.filter(**variant_lookups).values("product_id"))


def variant_get_by_sku(*, sku: str) -> Variant | None:
    return Variant.objects.select_related("product__category", "product__tax_category").filter(sku=sku).first()


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("path")


def category_get(*, key: str) -> Category | None:
    """A category by id or slug."""
    lookup = Q(slug=key) | Q(pk=int(key)) if key.isdigit() else Q(slug=key)
    return Category.objects.filter(lookup).first()


def category_parent_ids(*, categories: Iterable[Category]) -> dict[str, int]:
    """Parent ids of the given categories, keyed by the parent's path: one query."""
    paths = {c.path[: -Category.steplen] for c in categories if c.depth > 1}
    return dict(Category.objects.filter(path__in=paths).values_list("path", "id")) if paths else {}


def category_full_names() -> dict[int, str]:
    """Every category's full name ("Moda > Mujer > Chaquetas"), keyed by id: one query.

    Names repeat across branches (Mujer > Chaquetas, Hombre > Chaquetas), so staff pick by path.
    """
    names_by_path: dict[str, str] = {}
    full_names: dict[int, str] = {}
    for pk, path, name in Category.objects.order_by("path").values_list("pk", "path", "name"):
        parent = names_by_path.get(path[: -Category.steplen])
        names_by_path[path] = f"{parent} > {name}" if parent else name
        full_names[pk] = names_by_path[path]
    return full_names
