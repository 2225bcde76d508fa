"""Delivery through the API: quoting a basket before placing, placing with a method, the order's delivery."""

from decimal import Decimal
from typing import Any

import pytest

from orders.models import DeliveryMethod, DeliveryZone
from tests.api import token_api
from tests.factories import VariantFactory, delivery_method_create, delivery_zone_create
from tests.orders.test_api import error, order_body, post_order, snapshot
from tests.scenarios import Shop

QUOTES = "/api/v1/delivery-quotes/"


@pytest.fixture
def methods(shop: Shop) -> dict[str, DeliveryMethod]:
    shop.shirt.weight_grams = 300
    shop.shirt.save(update_fields=["weight_grams"])
    peninsula: DeliveryZone = delivery_zone_create("peninsula", ("ES", ""))
    baleares = delivery_zone_create("baleares", ("ES", "07"))
    return {
        "standard": delivery_method_create(
            "standard",
            name="Envío estándar",
            is_default=True,
            position=1,
            rates=[(peninsula, 2000, "3.95", "50.00"), (baleares, 2000, "7.95", None)],
        ),
        "express": delivery_method_create(
            "express", name="Envío urgente", position=2, rates=[(peninsula, None, "9.95", None)]
        ),
        "store": delivery_method_create("store", kind="pickup", name="Recogida en tienda", is_default=True),
    }


def quote_body(shop: Shop, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lines": [{"sku": shop.shirt.sku, "quantity": 1}],
        "fulfilment_type": "ship",
        "shipping_address": {"country": "ES", "postal_code": "41001"},
    }
    body.update(overrides)
    return body


def test_a_quote_lists_the_methods_and_prices_for_the_basket(shop: Shop, methods: Any) -> None:
    response = token_api(shop.web_token).post(QUOTES, quote_body(shop), format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["currency"], body["goods_total"], body["weight_grams"], body["zone"]) == (
        "EUR",
        "19.95",
        300,
        "peninsula",
    )
    assert [(m["code"], m["name"], m["price"], m["is_default"]) for m in body["methods"]] == [
        ("standard", "Envío estándar", "3.95", True),
        ("express", "Envío urgente", "9.95", False),
    ]
    assert body["methods"][0]["free_over"] == "50.00"
    assert body["methods"][0]["tax_rate"] == "21.00"


def test_a_quote_for_the_islands_takes_their_zone(shop: Shop, methods: Any) -> None:
    body = quote_body(shop, shipping_address={"country": "es", "postal_code": "07001"})

    response = token_api(shop.web_token).post(QUOTES, body, format="json")

    assert response.json()["zone"] == "baleares"
    assert [(m["code"], m["price"]) for m in response.json()["methods"]] == [("standard", "7.95")]


def test_a_quote_for_a_store_pickup_is_free(shop: Shop, methods: Any) -> None:
    body = quote_body(shop, fulfilment_type="pickup", pickup_location=shop.store.code, shipping_address=None)

    response = token_api(shop.web_token).post(QUOTES, body, format="json")

    assert response.status_code == 200
    assert [(m["code"], m["price"]) for m in response.json()["methods"]] == [("store", "0.00")]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"shipping_address": {"country": "FR", "postal_code": "75001"}}, "delivery_zone_unknown"),
        ({"shipping_address": None}, "invalid_order"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "invalid_lines"),
        ({"fulfilment_type": "pickup", "pickup_location": "wh-central"}, "invalid_order"),  # not a pickup point
        ({"fulfilment_type": "teleport"}, "invalid"),
    ],
)
def test_a_quote_that_cannot_be_made_is_a_400_and_writes_nothing(
    shop: Shop, methods: Any, overrides: dict[str, Any], code: str
) -> None:
    before = snapshot()

    response = token_api(shop.web_token).post(QUOTES, quote_body(shop, **overrides), format="json")

    assert response.status_code == 400
    assert error(response)["code"] == code
    assert snapshot() == before


def test_a_quote_needs_the_order_writing_scope(shop: Shop, methods: Any) -> None:
    response = token_api(shop.locker_token).post(QUOTES, quote_body(shop), format="json")

    assert response.status_code == 403


def test_a_quote_of_many_lines_is_bounded(shop: Shop, methods: Any, django_assert_max_num_queries: Any) -> None:
    variants = [VariantFactory.create(weight_grams=20) for _n in range(40)]
    api = token_api(shop.web_token)
    api.post(QUOTES, quote_body(shop), format="json")  # warm-up

    with django_assert_max_num_queries(12):
        response = api.post(
            QUOTES, quote_body(shop, lines=[{"sku": v.sku, "quantity": 1} for v in variants]), format="json"
        )

    assert response.status_code == 200


def test_placing_with_a_method_shows_the_charge_in_the_order(shop: Shop, methods: Any) -> None:
    response = post_order(token_api(shop.web_token), order_body(shop, delivery_method="express"))

    assert response.status_code == 201
    body = response.json()
    assert body["delivery"] == {
        "method": "express",
        "method_name": "Envío urgente",
        "zone": "peninsula",
        "charge": "9.95",
        "tax_rate": "21.00",
        "weight_grams": 600,
    }
    assert Decimal(body["total"]) == Decimal("39.90") + Decimal("9.95")


def test_placing_without_a_method_takes_the_default_the_quote_marks(shop: Shop, methods: Any) -> None:
    api = token_api(shop.web_token)
    quoted = api.post(QUOTES, quote_body(shop, lines=[{"sku": shop.shirt.sku, "quantity": 2}]), format="json")

    placed = post_order(api, order_body(shop))

    default = next(m for m in quoted.json()["methods"] if m["is_default"])
    assert (placed.json()["delivery"]["method"], placed.json()["delivery"]["charge"]) == (
        default["code"],
        default["price"],
    )


def test_a_replay_answers_the_same_order_and_charge(shop: Shop, methods: Any) -> None:
    api = token_api(shop.web_token)
    first = post_order(api, order_body(shop, delivery_method="express"), key="k-delivery")

    again = post_order(api, order_body(shop, delivery_method="express"), key="k-delivery")
    other = post_order(api, order_body(shop, delivery_method="standard"), key="k-delivery")

    assert again.status_code == 200
    assert (again.json()["number"], again.json()["delivery"]) == (first.json()["number"], first.json()["delivery"])
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"delivery_method": "teleport"}, "delivery_method_unknown"),
        ({"delivery_method": "store"}, "delivery_unavailable"),
        (
            {
                "shipping_address": {
                    "street": "Rue X 1",
                    "city": "Paris",
                    "postal_code": "75001",
                    "country": "FR",
                }
            },
            "delivery_zone_unknown",
        ),
    ],
)
def test_placing_with_a_delivery_that_cannot_be_is_a_400_and_writes_nothing(
    shop: Shop, methods: Any, overrides: dict[str, Any], code: str
) -> None:
    before = snapshot()

    response = post_order(token_api(shop.web_token), order_body(shop, **overrides))

    assert response.status_code == 400
    assert error(response)["code"] == code
    assert snapshot() == before
