"""The Idempotency-Key: a retried order is the same order, even when the retries race on PostgreSQL."""

from collections import Counter
from typing import Any

import pytest
from rest_framework.test import APIClient

from customers.models import ContactPoint, Customer
from inventory.models import MovementKind, StockLevel, StockMovement
from orders.models import Order
from tests.api import token_api
from tests.concurrency import raised, run_at_once
from tests.orders.test_api import error, order_body, post_order, snapshot
from tests.scenarios import Shop


def reservations(shop: Shop) -> tuple[int, int]:
    return (
        StockLevel.objects.get(location=shop.warehouse, variant=shop.shirt).reserved,
        StockMovement.objects.filter(kind=MovementKind.RESERVATION, variant=shop.shirt).count(),
    )


def test_a_replay_with_the_same_key_and_body_answers_200_with_the_same_order(shop: Shop) -> None:
    api = token_api(shop.web_token)
    first = post_order(api, order_body(shop), key="retry-me")

    again = post_order(api, order_body(shop), key="retry-me")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1
    assert reservations(shop) == (2, 1)


def test_a_replay_resolves_no_customer_again(shop: Shop) -> None:
    api = token_api(shop.web_token)
    body = order_body(shop, customer={"identities": [{"kind": "email", "value": "eva@example.com"}], "name": "Eva"})
    first = post_order(api, body, key="retry-me")
    ContactPoint.objects.filter(normalised_value="eva@example.com").delete()  # the profile changed meanwhile
    before = snapshot()

    again = post_order(api, body, key="retry-me")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    assert snapshot() == before  # no customer made for identities nobody owns any more


def test_the_same_key_with_another_body_is_refused(shop: Shop) -> None:
    api = token_api(shop.web_token)
    first = post_order(api, order_body(shop), key="retry-me")
    before = snapshot()

    response = post_order(api, order_body(shop, lines=[{"sku": shop.shirt.sku, "quantity": 3}]), key="retry-me")

    assert response.status_code == 409
    assert error(response)["code"] == "idempotency_key_reused"
    assert error(response)["order"] == first.json()["number"]
    assert snapshot() == before


def test_another_key_with_the_same_body_is_another_order(shop: Shop) -> None:
    api = token_api(shop.web_token)

    first, second = post_order(api, order_body(shop), key="a"), post_order(api, order_body(shop), key="b")

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["number"] != second.json()["number"]
    assert reservations(shop) == (4, 2)


def test_keys_belong_to_each_channel_client(shop: Shop) -> None:
    web = post_order(token_api(shop.web_token), order_body(shop), key="same-key")

    app = post_order(token_api(shop.store_token), order_body(shop), key="same-key")

    assert (web.status_code, app.status_code) == (201, 201)
    assert web.json()["number"] != app.json()["number"]


def test_a_key_longer_than_100_characters_is_refused(shop: Shop) -> None:
    before = snapshot()

    response = post_order(token_api(shop.web_token), order_body(shop), key="k" * 101)

    assert response.status_code == 400
    assert error(response)["code"] == "idempotency_key_required"
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("customer", "new_customers"),
    [
        ({"identities": [{"kind": "email", "value": "ana@example.com"}]}, 0),
        # Nobody owns these yet: the racing requests also resolve one new customer.
        (
            {
                "identities": [
                    {"kind": "email", "value": "new@example.com"},
                    {"kind": "phone", "value": "+34 611 222 333"},
                ]
            },
            1,
        ),
    ],
    ids=["known-customer", "new-customer"],
)
def test_concurrent_replays_make_exactly_one_order_and_one_set_of_reservations(
    shop: Shop, customer: dict[str, Any], new_customers: int
) -> None:
    lines = [{"sku": shop.shirt.sku, "quantity": 2}, {"sku": shop.book.sku, "quantity": 1}]
    body = order_body(shop, customer=customer, lines=lines)
    customers_before = Customer.objects.count()

    def attempt() -> Any:
        api = APIClient()  # one client (and one connection) per thread
        api.credentials(HTTP_AUTHORIZATION=f"Token {shop.web_token}")
        response = post_order(api, body, key="racing-key")
        return response.status_code, response.json().get("number")

    results = run_at_once([attempt for _ in range(8)])

    assert raised(results) == []
    assert Counter(status for status, _number in results) == {201: 1, 200: 7}
    assert len({number for _status, number in results}) == 1
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert order.lines.count() == 2
    assert StockMovement.objects.filter(kind=MovementKind.RESERVATION, reference=order.number).count() == 2
    assert reservations(shop) == (2, 1)
    assert StockLevel.objects.get(location=shop.warehouse, variant=shop.book).reserved == 1
    assert Customer.objects.count() - customers_before == new_customers


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_and_different_bodies_make_one_order(shop: Shop) -> None:
    bodies = [order_body(shop, lines=[{"sku": shop.shirt.sku, "quantity": quantity}]) for quantity in (1, 2, 3, 4)]

    def attempt(body: dict[str, Any]) -> Any:
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {shop.web_token}")
        response = post_order(api, body, key="racing-key")
        return response.status_code, response.json()

    results = run_at_once([lambda body=body: attempt(body) for body in bodies])  # type: ignore[misc]

    assert raised(results) == []
    assert sorted(status for status, _body in results) == [201, 409, 409, 409]
    order = Order.objects.get()
    assert {body["error"]["order"] for status, body in results if status == 409} == {order.number}
    assert reservations(shop)[0] == order.lines.get().quantity
