"""catalog.pricing: the effective price of a variant, the one rule every caller uses."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from catalog.models import Category, Product, Promotion, PromotionKind, Variant
from catalog.pricing import EffectivePrice, RunningPromotions, variant_price, variant_prices
from tests.factories import (
    CategoryFactory,
    CategoryTree,
    ProductFactory,
    PromotionFactory,
    TaxCategoryFactory,
    VariantFactory,
    category_tree_create,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=30)
LATER = NOW + timedelta(days=30)
PERCENTAGE = PromotionKind.PERCENTAGE
FIXED = PromotionKind.FIXED_AMOUNT


def fresh(variant: Variant) -> Variant:
    """The variant as callers load it, with its product's category (whose tree path may have moved)."""
    return Variant.objects.select_related("product__category").get(pk=variant.pk)


def price_at(variant: Variant, at: datetime = NOW) -> EffectivePrice:
    return variant_price(variant=fresh(variant), at=at)


def running(**kwargs: Any) -> Promotion:
    """A promotion running at NOW unless told otherwise."""
    fields: dict[str, Any] = {"starts_at": LONG_AGO, "ends_at": LATER}
    fields.update(kwargs)
    return PromotionFactory.create(**fields)


# No promotion


def test_without_promotion_effective_price_is_the_price() -> None:
    variant = VariantFactory.create(price=Decimal("19.99"), compare_at_price=Decimal("24.99"))

    price = price_at(variant)

    assert price == EffectivePrice(
        amount=Decimal("19.99"), regular_price=Decimal("19.99"), compare_at_price=Decimal("24.99"), promotion=None
    )


def test_without_promotion_or_compare_at_price_nothing_is_crossed_out() -> None:
    variant = VariantFactory.create(price=Decimal("19.99"), compare_at_price=None)

    assert price_at(variant).compare_at_price is None


# Kinds and rounding


def test_percentage_promotion_reduces_price() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    promotion = running(kind=PERCENTAGE, value=Decimal(25), variants=[variant])

    price = price_at(variant)

    assert price.amount == Decimal("15.00")
    assert price.promotion == promotion


def test_promotion_shows_regular_price_crossed_out() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"), compare_at_price=Decimal("30.00"))
    running(kind=PERCENTAGE, value=Decimal(25), variants=[variant])

    price = price_at(variant)

    assert price.regular_price == Decimal("20.00")
    assert price.compare_at_price == Decimal("20.00")


def test_fixed_amount_promotion_reduces_price() -> None:
    variant = VariantFactory.create(price=Decimal("19.99"))
    running(kind=FIXED, value=Decimal("5.00"), variants=[variant])

    assert price_at(variant).amount == Decimal("14.99")


def test_fixed_amount_above_price_gives_zero_not_negative() -> None:
    variant = VariantFactory.create(price=Decimal("19.99"))
    running(kind=FIXED, value=Decimal("25.00"), variants=[variant])

    assert price_at(variant).amount == Decimal("0.00")


def test_hundred_percent_promotion_gives_zero() -> None:
    variant = VariantFactory.create(price=Decimal("19.99"))
    running(kind=PERCENTAGE, value=Decimal(100), variants=[variant])

    assert price_at(variant).amount == Decimal("0.00")


@pytest.mark.parametrize(
    ("price", "percentage", "expected"),
    [
        pytest.param("19.99", "15", "16.99", id="16.9915-down"),
        pytest.param("10.05", "50", "5.03", id="5.025-half-up"),
        pytest.param("0.05", "50", "0.03", id="0.025-half-up-not-to-even"),
        pytest.param("10.01", "25", "7.51", id="7.5075-up"),
    ],
)
def test_percentage_rounds_half_up_to_cents(price: str, percentage: str, expected: str) -> None:
    variant = VariantFactory.create(price=Decimal(price))
    running(kind=PERCENTAGE, value=Decimal(percentage), variants=[variant])

    assert price_at(variant).amount == Decimal(expected)


@pytest.mark.parametrize(
    ("price", "percentage", "expected"),
    [
        pytest.param("19990", "15", "16992", id="16991.5-half-up"),
        pytest.param("1999", "25", "1499", id="1499.25-down"),
        pytest.param("1999", "50", "1000", id="999.5-half-up"),
    ],
)
def test_clp_rounds_to_whole_pesos(settings: Any, price: str, percentage: str, expected: str) -> None:
    settings.DEFAULT_CURRENCY = "CLP"
    variant = VariantFactory.create(price=Decimal(price))
    running(kind=PERCENTAGE, value=Decimal(percentage), variants=[variant])

    assert price_at(variant).amount == Decimal(expected)


# The window


def test_promotion_not_yet_started_does_not_apply() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    running(starts_at=NOW + timedelta(seconds=1), ends_at=LATER, variants=[variant])

    assert price_at(variant).promotion is None


def test_promotion_applies_from_its_start() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    promotion = running(starts_at=NOW, ends_at=LATER, variants=[variant])

    assert price_at(variant).promotion == promotion


def test_promotion_applies_until_just_before_its_end() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    promotion = running(starts_at=LONG_AGO, ends_at=NOW + timedelta(microseconds=1), variants=[variant])

    assert price_at(variant).promotion == promotion


def test_promotion_does_not_apply_at_its_end() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    running(starts_at=LONG_AGO, ends_at=NOW, variants=[variant])

    price = price_at(variant)

    assert price.promotion is None
    assert price.amount == Decimal("20.00")


def test_ended_promotion_does_not_apply() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    running(starts_at=LONG_AGO, ends_at=NOW - timedelta(days=1), variants=[variant])

    assert price_at(variant).promotion is None


def test_open_ended_promotion_applies() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    promotion = running(starts_at=LONG_AGO, ends_at=None, variants=[variant])

    assert price_at(variant).promotion == promotion


def test_inactive_promotion_never_applies() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    running(is_active=False, ends_at=None, variants=[variant])

    assert price_at(variant).promotion is None


# Targets


@pytest.fixture
def tree() -> CategoryTree:
    return category_tree_create()


def variant_in(category: Category, price: str = "20.00") -> Variant:
    return VariantFactory.create(product=ProductFactory.create(category=category), price=Decimal(price))


def test_category_promotion_applies_to_products_in_the_category(tree: CategoryTree) -> None:
    variant = variant_in(tree.child)
    promotion = running(categories=[tree.child])

    assert price_at(variant).promotion == promotion


def test_category_promotion_applies_to_products_in_descendant_categories(tree: CategoryTree) -> None:
    variant = variant_in(tree.grandchild)
    promotion = running(kind=PERCENTAGE, value=Decimal(10), categories=[tree.root])

    price = price_at(variant)

    assert price.promotion == promotion
    assert price.amount == Decimal("18.00")


def test_category_promotion_does_not_apply_to_sibling_category(tree: CategoryTree) -> None:
    variant = variant_in(tree.sibling)
    running(categories=[tree.child])

    assert price_at(variant).promotion is None


def test_category_promotion_does_not_apply_to_parent_category(tree: CategoryTree) -> None:
    variant = variant_in(tree.root)
    running(categories=[tree.child])

    assert price_at(variant).promotion is None


def test_product_promotion_applies_to_every_variant_of_the_product() -> None:
    product = ProductFactory.create()
    variants = VariantFactory.create_batch(2, product=product)
    other = VariantFactory.create()
    promotion = running(products=[product])

    assert [price_at(variant).promotion for variant in variants] == [promotion, promotion]
    assert price_at(other).promotion is None


def test_variant_promotion_applies_only_to_that_variant() -> None:
    product = ProductFactory.create()
    promoted, sibling = VariantFactory.create_batch(2, product=product)
    promotion = running(variants=[promoted])

    assert price_at(promoted).promotion == promotion
    assert price_at(sibling).promotion is None


# Precedence


@pytest.mark.parametrize(
    ("category_offer", "product_offer", "expected_amount", "winner"),
    [
        pytest.param((PERCENTAGE, "10"), (FIXED, "5.00"), "15.00", "product", id="product-cheaper"),
        pytest.param((PERCENTAGE, "50"), (FIXED, "1.00"), "10.00", "category", id="category-cheaper"),
    ],
)
def test_lowest_resulting_price_wins(
    tree: CategoryTree,
    category_offer: tuple[str, str],
    product_offer: tuple[str, str],
    expected_amount: str,
    winner: str,
) -> None:
    variant = variant_in(tree.child, "20.00")
    promotions = {
        "category": running(kind=category_offer[0], value=Decimal(category_offer[1]), categories=[tree.root]),
        "product": running(kind=product_offer[0], value=Decimal(product_offer[1]), products=[variant.product]),
    }

    price = price_at(variant)

    assert price.amount == Decimal(expected_amount)
    assert price.promotion == promotions[winner]


def test_promotions_never_stack(tree: CategoryTree) -> None:
    variant = variant_in(tree.child, "20.00")
    running(kind=PERCENTAGE, value=Decimal(10), categories=[tree.child])
    running(kind=PERCENTAGE, value=Decimal(10), products=[variant.product])
    running(kind=FIXED, value=Decimal("1.00"), variants=[variant])

    assert price_at(variant).amount == Decimal("18.00")


@pytest.mark.parametrize(
    ("general", "specific"),
    [("category", "product"), ("product", "variant"), ("category", "variant")],
)
def test_equal_price_goes_to_the_more_specific_target(tree: CategoryTree, general: str, specific: str) -> None:
    variant = variant_in(tree.child, "20.00")
    targets: dict[str, dict[str, Any]] = {
        "category": {"categories": [tree.child]},
        "product": {"products": [variant.product]},
    }
    targets["variant"] = {"variants": [variant]}
    # The general one is older, so only specificity can explain the choice.
    running(kind=PERCENTAGE, value=Decimal(10), starts_at=LONG_AGO, **targets[general])
    expected = running(kind=FIXED, value=Decimal("2.00"), starts_at=NOW - timedelta(days=1), **targets[specific])

    price = price_at(variant)

    assert price.amount == Decimal("18.00")
    assert price.promotion == expected


def test_equal_price_and_target_goes_to_the_oldest_promotion() -> None:
    variant = VariantFactory.create(price=Decimal("20.00"))
    running(kind=FIXED, value=Decimal("2.00"), starts_at=NOW - timedelta(days=1), products=[variant.product])
    oldest = running(kind=PERCENTAGE, value=Decimal(10), starts_at=LONG_AGO, products=[variant.product])

    assert price_at(variant).promotion == oldest


# Many variants at once


def test_variant_prices_keys_prices_by_variant_id(tree: CategoryTree) -> None:
    cheap, dear = variant_in(tree.child, "10.00"), variant_in(tree.sibling, "30.00")
    running(kind=PERCENTAGE, value=Decimal(50), categories=[tree.child])

    prices = variant_prices(variants=[fresh(cheap), fresh(dear)], at=NOW)

    assert {pk: price.amount for pk, price in prices.items()} == {cheap.pk: Decimal("5.00"), dear.pk: Decimal("30.00")}


def test_variant_prices_runs_the_same_queries_for_3_or_30_variants(tree: CategoryTree) -> None:
    for category in (tree.child, tree.grandchild, tree.sibling):
        VariantFactory.create_batch(10, product=ProductFactory.create(category=category))
    running(categories=[tree.child])
    running(products=[Product.objects.first()])
    running(variants=[Variant.objects.last()])
    loaded = list(Variant.objects.select_related("product__category"))

    with CaptureQueriesContext(connection) as few:
        variant_prices(variants=loaded[:3], at=NOW)
    with CaptureQueriesContext(connection) as many:
        variant_prices(variants=loaded, at=NOW)

    assert len(many) == len(few)


# Every caller sees the same price


@pytest.fixture
def promoted_variant(tree: CategoryTree) -> Variant:
    """A variant under a category promotion and a product promotion, running now."""
    variant = variant_in(tree.grandchild, "59.95")
    VariantFactory.create(product=variant.product, price=Decimal("64.95"))
    PromotionFactory.create(kind=PERCENTAGE, value=Decimal("15"), categories=[tree.child])
    PromotionFactory.create(kind=FIXED, value=Decimal("7.50"), products=[variant.product])
    return variant


def test_product_list_api_shows_the_variant_price(api: Any, promoted_variant: Variant) -> None:
    expected = variant_price(variant=fresh(promoted_variant))
    assert expected.promotion is not None

    response = api.get("/api/v1/products/")

    shown = {v["sku"]: v for product in response.json()["results"] for v in product["variants"]}
    assert shown[promoted_variant.sku]["effective_price"] == str(expected.amount)
    assert shown[promoted_variant.sku]["promotion"]["id"] == expected.promotion.pk


def test_variant_api_shows_the_variant_price(api: Any, promoted_variant: Variant) -> None:
    expected = variant_price(variant=fresh(promoted_variant))
    assert expected.promotion is not None

    response = api.get(f"/api/v1/variants/{promoted_variant.sku}/")

    assert response.json()["effective_price"] == str(expected.amount)
    assert response.json()["promotion"]["id"] == expected.promotion.pk


# The database expression (used to filter lists by price) agrees with Python


def assert_database_agrees_with_python(at: datetime = NOW) -> None:
    running_promotions = RunningPromotions.at(at)
    in_database = dict(running_promotions.annotate_variants(Variant.objects.all()).values_list("id", "effective_price"))
    in_python = variant_prices(variants=Variant.objects.select_related("product__category"), at=at)

    assert in_database == {pk: price.amount for pk, price in in_python.items()}


def test_database_price_agrees_with_python(tree: CategoryTree) -> None:
    shirts = ProductFactory.create(category=tree.grandchild)
    trousers = ProductFactory.create(category=tree.sibling)
    socks = ProductFactory.create(category=tree.root)
    prices = ["10.05", "19.99", "0.05", "120.00", "3.33", "59.95"]
    variants = [
        VariantFactory.create(product=product, price=Decimal(price))
        for product in (shirts, trousers, socks)
        for price in prices[:2]
    ]
    variants += [VariantFactory.create(product=shirts, price=Decimal(price)) for price in prices[2:]]
    running(kind=PERCENTAGE, value=Decimal(15), categories=[tree.child])
    running(kind=PERCENTAGE, value=Decimal("33.33"), categories=[tree.sibling])
    running(kind=FIXED, value=Decimal("3.00"), products=[socks])
    running(kind=PERCENTAGE, value=Decimal(50), variants=[variants[0], variants[6]])
    running(kind=FIXED, value=Decimal("25.00"), variants=[variants[1]])
    running(kind=PERCENTAGE, value=Decimal(90), is_active=False, products=[shirts, trousers])
    running(kind=PERCENTAGE, value=Decimal(90), starts_at=LATER, ends_at=None, categories=[tree.root])

    assert_database_agrees_with_python()


def test_database_price_agrees_with_python_in_clp(settings: Any, tree: CategoryTree) -> None:
    settings.DEFAULT_CURRENCY = "CLP"
    for price in ("19990", "1999", "9995", "15"):
        variant_in(tree.grandchild, price)
        variant_in(tree.sibling, price)
    running(kind=PERCENTAGE, value=Decimal(15), categories=[tree.child])
    running(kind=PERCENTAGE, value=Decimal(50), categories=[tree.sibling])
    running(kind=FIXED, value=Decimal(1000), products=list(Product.objects.filter(category=tree.sibling)[:2]))

    assert_database_agrees_with_python()


def test_database_price_rounds_a_fixed_amount_to_whole_pesos_like_python(settings: Any) -> None:
    settings.DEFAULT_CURRENCY = "CLP"
    variant = VariantFactory.create(price=Decimal(19990))
    running(kind=FIXED, value=Decimal("500.50"), variants=[variant])

    assert_database_agrees_with_python()


money = st.integers(min_value=1, max_value=100_000_00).map(lambda cents: Decimal(cents).scaleb(-2))
percentage = st.integers(min_value=1, max_value=100_00).map(lambda hundredths: Decimal(hundredths).scaleb(-2))
offer = st.one_of(
    st.tuples(st.just(PERCENTAGE), percentage),
    st.tuples(st.just(FIXED), money),
)


@hypothesis_settings(max_examples=50, deadline=None, database=None)
@given(
    prices=st.lists(money, min_size=1, max_size=4),
    offers=st.lists(st.tuples(offer, st.sampled_from(["category", "product", "variant"])), min_size=1, max_size=4),
)
def test_database_price_agrees_with_python_for_any_prices_and_offers(
    prices: list[Decimal], offers: list[tuple[tuple[str, Decimal], str]]
) -> None:
    # Each example rolled back to a savepoint (not an atomic block: the factories' services are
    # use cases, which open their own durable transaction).
    savepoint = transaction.savepoint_create()
    try:
        root = CategoryFactory.create(name="Root", slug="root")
        tax = TaxCategoryFactory.create()
        product = Product.objects.create(name="P", slug="p", category=root, tax_category=tax)
        variants = [
            Variant.objects.create(product=product, sku=f"SKU-{i}", price=price) for i, price in enumerate(prices)
        ]
        targets: dict[str, dict[str, Any]] = {"category": {"categories": [root]}, "product": {"products": [product]}}
        for (kind, value), target in offers:
            targets["variant"] = {"variants": variants[:1]}
            running(kind=kind, value=value, **targets[target])

        assert_database_agrees_with_python()
    finally:
        transaction.savepoint_rollback(savepoint)
