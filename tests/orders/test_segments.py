"""The purchase rules orders gives customers' segments: what counts as a purchase, each rule, one query.

A purchase is an order paid and not cancelled (orders/segments.py). Each rule is checked with a
customer it finds, one it leaves out, and a customer who never bought.
"""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Product
from customers.models import Customer, Segment
from customers.segments import segment_members, segment_rules_validate
from orders.models import Order
from orders.services import order_cancel, order_make_ready
from tests.factories import CategoryTree, CustomerFactory
from tests.scenarios import Shop, deliver, pay, place, ship

pytestmark = pytest.mark.django_db


def members(rules: dict[str, Any]) -> set[Customer]:
    return set(segment_members(rules=rules))


def bought(shop: Shop, customer: Customer, *, days_ago: int = 0, **placing: Any) -> Order:
    """A paid order of `customer`, paid `days_ago` days ago (by card through the web shop unless told)."""
    order = pay(shop, place(replace(shop, customer=customer), **placing))
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now() - timedelta(days=days_ago))
    return order


# What counts as a purchase


def _placed(shop: Shop) -> Order:
    return place(shop)


def _cancelled_after_paying(shop: Shop) -> Order:
    return order_cancel(order=pay(shop, place(shop)), actor=shop.web)


def _ready_unpaid_at_the_till(shop: Shop) -> Order:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    return order_make_ready(order=order, actor=shop.store_actor)


def _paid(shop: Shop) -> Order:
    return pay(shop, place(shop))


def _delivered(shop: Shop) -> Order:
    return deliver(shop, ship(shop, pay(shop, place(shop))))


def _paid_and_waiting_ready(shop: Shop) -> Order:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    return order_make_ready(order=order, actor=shop.store_actor)


@pytest.mark.parametrize(
    ("make", "counts"),
    [
        pytest.param(_placed, False, id="placed, awaiting payment"),
        pytest.param(_ready_unpaid_at_the_till, False, id="ready, to pay at the till"),
        pytest.param(_cancelled_after_paying, False, id="cancelled after paying"),
        pytest.param(_paid, True, id="paid"),
        pytest.param(_paid_and_waiting_ready, True, id="paid, waiting ready"),
        pytest.param(_delivered, True, id="delivered"),
    ],
)
def test_a_purchase_is_an_order_paid_and_not_cancelled(shop: Shop, make: Any, counts: bool) -> None:
    make(shop)

    assert (shop.customer in members({"frequency": 1})) is counts
    assert (shop.customer in members({"recency_days": 1})) is counts
    assert (shop.customer in members({"monetary": {"min": "0.01"}})) is counts


# Each rule


def test_recency_days(shop: Shop) -> None:
    recent, lapsed, never = CustomerFactory.create_batch(3)
    bought(shop, recent, days_ago=2)
    bought(shop, lapsed, days_ago=40)

    assert members({"recency_days": 7}) == {recent}
    assert members({"recency_days": 60}) == {recent, lapsed}
    assert never not in members({"recency_days": 3650})


def test_last_purchase_after_a_day(shop: Shop) -> None:
    recent, lapsed = CustomerFactory.create_batch(2)
    CustomerFactory.create()  # never bought
    bought(shop, recent, days_ago=2)
    bought(shop, lapsed, days_ago=40)
    day = (timezone.localdate() - timedelta(days=10)).isoformat()

    assert members({"last_purchase_after": day}) == {recent}


def test_last_purchase_before_a_day_finds_who_has_not_bought_since(shop: Shop) -> None:
    lapsed, came_back, recent = CustomerFactory.create_batch(3)
    CustomerFactory.create()  # never bought: not lapsed, never a buyer
    bought(shop, lapsed, days_ago=40)
    bought(shop, came_back, days_ago=40)
    bought(shop, came_back, days_ago=1)
    bought(shop, recent, days_ago=1)
    day = (timezone.localdate() - timedelta(days=10)).isoformat()

    assert members({"last_purchase_before": day}) == {lapsed}


def test_frequency_counts_purchases_and_who_never_bought_bought_zero_times(shop: Shop) -> None:
    once, three_times, never = CustomerFactory.create_batch(3)
    bought(shop, once)
    for _ in range(3):
        bought(shop, three_times)
    place(replace(shop, customer=never))  # never paid: bought nothing

    assert members({"frequency": {"min": 2}}) == {three_times}
    assert members({"frequency": 1}) == {once, three_times}  # a bare number is the minimum
    assert members({"frequency": {"min": 1, "max": 2}}) == {once}
    assert members({"frequency": {"max": 0}}) == {never, shop.customer}


def test_monetary_is_the_total_kept(shop: Shop) -> None:
    big, small, refunded = CustomerFactory.create_batch(3)
    bought(shop, big, lines=[(shop.shirt, 3)])  # 59.85
    bought(shop, big, lines=[(shop.book, 5)])  # 50.00
    bought(shop, small, lines=[(shop.book, 1)])  # 10.00
    order_cancel(order=bought(shop, refunded, lines=[(shop.shirt, 10)]), actor=shop.web)

    assert members({"monetary": {"min": 100}}) == {big}
    assert members({"monetary": {"min": "109.85", "max": "109.85"}}) == {big}
    assert members({"monetary": {"min": 5, "max": "50"}}) == {small}
    assert members({"monetary": {"max": 10}}) == {small, refunded, shop.customer}  # nothing kept is 0


def test_monetary_counts_only_the_currency_asked(shop: Shop) -> None:
    buyer = CustomerFactory.create()
    bought(shop, buyer)

    assert buyer in members({"monetary": {"min": 1}})
    assert buyer not in members({"monetary": {"min": 1, "currency": "ARS"}})


def test_category_bought_includes_descendant_categories(shop: Shop, category_tree: CategoryTree) -> None:
    Product.objects.filter(pk=shop.shirt.product_id).update(category=category_tree.grandchild)
    Product.objects.filter(pk=shop.book.product_id).update(category=category_tree.sibling)
    tee_buyer, book_buyer, cancelled_tee = CustomerFactory.create_batch(3)
    bought(shop, tee_buyer, lines=[(shop.shirt, 1)])
    bought(shop, book_buyer, lines=[(shop.book, 1)])
    order_cancel(order=bought(shop, cancelled_tee, lines=[(shop.shirt, 1)]), actor=shop.web)

    assert members({"category_bought": ["camisetas"]}) == {tee_buyer}
    assert members({"category_bought": ["ropa"]}) == {tee_buyer, book_buyer}
    assert members({"category_bought": "pantalones"}) == {book_buyer}


def test_channels_bought_is_where_the_order_was_placed(shop: Shop) -> None:
    online, in_store = CustomerFactory.create_batch(2)
    bought(shop, online)
    store_order = place(replace(shop, customer=in_store), actor=shop.store_actor)
    pay(shop, store_order, method="cash", actor=shop.store_actor)

    assert members({"channels_bought": ["store"]}) == {in_store}
    assert members({"channels_bought": ["web", "store"]}) == {online, in_store}


def test_purchase_rules_combine_with_the_customers_own(shop: Shop) -> None:
    spanish, argentine = CustomerFactory.create(country="ES"), CustomerFactory.create(country="AR")
    bought(shop, spanish)
    bought(shop, argentine)

    assert members({"country": ["ES"], "frequency": 1, "recency_days": 30}) == {spanish}


@pytest.mark.parametrize(
    "rules",
    [
        {"recency_days": -1},
        {"recency_days": "week"},
        {"recency_days": True},
        {"last_purchase_after": "yesterday"},
        {"last_purchase_before": 20260101},
        {"frequency": -1},
        {"frequency": {"min": 3, "max": 1}},
        {"frequency": {"min": 1, "often": True}},
        {"frequency": {}},
        {"monetary": {"min": "lots"}},
        {"monetary": {"min": "NaN"}},
        {"monetary": -5},
        {"monetary": {"min": 1, "currency": "EURO"}},
        {"category_bought": []},
        {"category_bought": ["no-such-category"]},
        {"channels_bought": ["pigeon"]},
    ],
)
def test_malformed_purchase_rules_are_refused_naming_the_rule(rules: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        segment_rules_validate(rules)

    assert set(refused.value.message_dict) == set(rules)


# One query, whatever the number of customers


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param({"recency_days": 30}, id="recency_days"),
        pytest.param({"last_purchase_after": "2026-01-01"}, id="last_purchase_after"),
        pytest.param({"last_purchase_before": "2026-01-01"}, id="last_purchase_before"),
        pytest.param({"frequency": {"min": 1, "max": 5}}, id="frequency"),
        pytest.param({"monetary": {"max": 500}}, id="monetary"),
        pytest.param({"category_bought": ["ropa"]}, id="category_bought"),
        pytest.param({"channels_bought": ["web"]}, id="channels_bought"),
        pytest.param(
            {
                "recency_days": 30,
                "frequency": {"max": 9},
                "monetary": {"min": 1},
                "category_bought": ["ropa"],
                "channels_bought": ["web", "store"],
                "country": ["ES"],
            },
            id="all_combined",
        ),
    ],
)
def test_evaluating_a_purchase_segment_is_one_query(
    shop: Shop, category_tree: CategoryTree, rules: dict[str, Any], django_assert_num_queries: Any
) -> None:
    Product.objects.filter(pk=shop.shirt.product_id).update(category=category_tree.child)
    for _ in range(3):
        bought(shop, CustomerFactory.create(country="ES"))

    with django_assert_num_queries(1):
        list(segment_members(rules=rules))


# Where staff and channels meet them


def test_staff_create_a_purchase_segment_in_the_admin(admin_client: Client, shop: Shop) -> None:
    buyer = CustomerFactory.create()
    bought(shop, buyer)
    rules = '{"recency_days": 30, "frequency": {"min": 1}, "monetary": {"min": "10"}, "channels_bought": ["web"]}'

    response = admin_client.post(
        "/admin/customers/segment/add/", {"name": "Compradores web", "description": "", "rules": rules}
    )

    assert response.status_code == 302
    segment = Segment.objects.get(name="Compradores web")
    assert set(segment_members(rules=segment.rules)) == {buyer}
    changelist = admin_client.get("/admin/customers/segment/").content.decode()
    assert '<td class="field-member_count">1</td>' in changelist


def test_the_admin_refuses_a_purchase_segment_on_an_unknown_category(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/customers/segment/add/",
        {"name": "Nada", "description": "", "rules": '{"category_bought": ["no-such-category"]}'},
    )

    assert response.status_code == 200
    assert "no-such-category" in response.content.decode()
    assert not Segment.objects.exists()


def test_a_channel_reads_the_members_of_a_purchase_segment(shop: Shop) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {shop.web_token}")
    buyer = CustomerFactory.create()
    bought(shop, buyer, lines=[(shop.shirt, 2)])
    CustomerFactory.create()
    segment = Segment.objects.create(name="Gastan", rules={"monetary": {"min": "39.90"}})

    response = api.get(f"/api/v1/segments/{segment.pk}/members/")

    assert response.status_code == 200
    assert [member["id"] for member in response.json()["results"]] == [buyer.pk]
