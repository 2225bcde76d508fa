"""The effective price of a variant at a moment: one function for every channel and caller.

Rules (README, "Prices and promotions"):
- The variant's price is tax-inclusive and the same in every channel.
- A promotion targets variants, products or categories (a category covers its descendants)
  and runs from starts_at (inclusive) to ends_at (exclusive, or forever if empty).
- Promotions never stack: of those running for a variant, the one giving the customer the
  lowest price wins; on a tie the most specific target wins (variant, then product, then
  category), then the oldest promotion.
- A discounted price is rounded half-up to the currency's minor unit and never goes below 0.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, DecimalField, F, Q, QuerySet, Value, When
from django.db.models.functions import Greatest, Least, Round
from django.http import HttpRequest
from django.utils import timezone

from catalog.models import Promotion, PromotionKind, Variant
from config.money import currency_exponent

# Lower wins on a tie.
SPECIFICITY_VARIANT, SPECIFICITY_PRODUCT, SPECIFICITY_CATEGORY = 0, 1, 2


@dataclass(frozen=True)
class EffectivePrice:
    amount: Decimal
    regular_price: Decimal
    # What a channel shows crossed out: the regular price under a promotion,
    # otherwise the variant's own compare-at price.
    compare_at_price: Decimal | None
    promotion: Promotion | None


class RunningPromotions:
    """The promotions running at one moment, indexed by what they target."""

    def __init__(self, promotions: Iterable[Promotion]) -> None:
        self.promotions = list(promotions)
        self.by_variant: dict[int, list[Promotion]] = defaultdict(list)
        self.by_product: dict[int, list[Promotion]] = defaultdict(list)
        self.by_category_path: list[tuple[str, Promotion]] = []
        for promotion in self.promotions:
            for variant in promotion.variants.all():
                self.by_variant[variant.pk].append(promotion)
            for product in promotion.products.all():
                self.by_product[product.pk].append(promotion)
            for category in promotion.categories.all():
                self.by_category_path.append((category.path, promotion))

    @classmethod
    def at(cls, moment: datetime | None = None) -> "RunningPromotions":
        moment = moment or timezone.now()
        queryset = Promotion.objects.running_at(moment).prefetch_related("variants", "products", "categories")
        return cls(queryset)

    def candidates(self, variant: Variant) -> list[tuple[int, Promotion]]:
        found = [(SPECIFICITY_VARIANT, p) for p in self.by_variant.get(variant.pk, ())]
        found += [(SPECIFICITY_PRODUCT, p) for p in self.by_product.get(variant.product_id, ())]
        if self.by_category_path:
            path = variant.product.category.path
            found += [(SPECIFICITY_CATEGORY, p) for prefix, p in self.by_category_path if path.startswith(prefix)]
        return found

    def price(self, variant: Variant) -> EffectivePrice:
        best: tuple[Decimal, int, datetime, int, Promotion] | None = None
        for specificity, promotion in self.candidates(variant):
            key = (promotion.discounted(variant.price), specificity, promotion.starts_at, promotion.pk, promotion)
            if best is None or key[:4] < best[:4]:
                best = key
        if best is None or best[0] >= variant.price:
            return EffectivePrice(
                amount=variant.price,
                regular_price=variant.price,
                compare_at_price=variant.compare_at_price,
                promotion=None,
            )
        return EffectivePrice(
            amount=best[0], regular_price=variant.price, compare_at_price=variant.price, promotion=best[4]
        )

    # Database side, for filtering lists by price or by "on promotion". It mirrors
    # Promotion.discounted; tests/catalog/test_pricing.py keeps the two in agreement.

    def target_q(self, promotion: Promotion, prefix: str = "") -> Q:
        q = Q(pk__in=[])
        variant_ids = [v.pk for v in promotion.variants.all()]
        product_ids = [p.pk for p in promotion.products.all()]
        if variant_ids:
            q |= Q(**{f"{prefix}id__in": variant_ids})
        if product_ids:
            q |= Q(**{f"{prefix}product_id__in": product_ids})
        for category in promotion.categories.all():
            q |= Q(**{f"{prefix}product__category__path__startswith": category.path})
        return q

    def any_target_q(self) -> Q:
        q = Q(pk__in=[])
        for promotion in self.promotions:
            q |= self.target_q(promotion)
        return q

    def effective_price_expression(self) -> Any:
        money = DecimalField(max_digits=12, decimal_places=2)
        price = F("price")
        if not self.promotions:
            return price
        places = currency_exponent(settings.DEFAULT_CURRENCY)
        candidates: list[Any] = [price]
        for promotion in self.promotions:
            reduced: Any
            if promotion.kind == PromotionKind.PERCENTAGE:
                reduced = Round(price * Value(Decimal(100) - promotion.value) / Value(Decimal(100)), places)
            else:
                reduced = Round(price - Value(promotion.value), places)
            reduced = Greatest(reduced, Value(Decimal(0)), output_field=money)
            candidates.append(Case(When(self.target_q(promotion), then=reduced), default=price, output_field=money))
        return Least(*candidates, output_field=money)

    def annotate_variants(self, queryset: QuerySet[Variant]) -> QuerySet[Any]:
        return queryset.annotate(effective_price=self.effective_price_expression())


def running_promotions_for_request(request: HttpRequest) -> RunningPromotions:
    """The promotions running now, loaded once per request however many parts ask."""
    running: RunningPromotions | None = getattr(request, "_running_promotions", None)
    if running is None:
        running = RunningPromotions.at()
        request._running_promotions = running  # type: ignore[attr-defined]
    return running


def variant_prices(
    *, variants: Iterable[Variant], at: datetime | None = None, running: RunningPromotions | None = None
) -> dict[int, EffectivePrice]:
    """Effective prices of many variants at once, keyed by variant id: a constant number of queries.

    Pass `running` to reuse promotions already loaded for this moment.
    """
    running = running or RunningPromotions.at(at)
    return {variant.pk: running.price(variant) for variant in variants}


def variant_price(*, variant: Variant, at: datetime | None = None) -> EffectivePrice:
    """The effective price of one variant: the rule every channel, order and invoice uses."""
    return variant_prices(variants=[variant], at=at)[variant.pk]
