"""Public order tracking: a number and a second factor, no personal data, throttled per address."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from orders.codes import tracking_token, tracking_url
from orders.models import Order
from orders.services import order_payment_add, order_ship
from tests.orders.conftest import Shop, place
from tests.orders.test_api import ORDERS, api_for

pytestmark = pytest.mark.django_db


def track(number: str, factor: dict[str, str], client: APIClient | None = None) -> Any:
    return (client or APIClient()).get(f"/api/v1/track/{number}/", factor)


@pytest.fixture
def shipped(shop: Shop) -> Order:
    order = place(shop)
    order = order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="c")
    return order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="TRK-123")


@pytest.mark.parametrize(
    "factor",
    [
        {"email": "ana@example.com"},
        {"email": "ANA@Example.COM"},
        {"phone": "+34600000001"},
        {"phone": "600 00 00 01"},
        {"phone": "0034 600-000-001"},
    ],
    ids=["email", "email-any-case", "phone-e164", "phone-national", "phone-00-prefix"],
)
def test_the_email_or_phone_the_order_was_placed_with_opens_it(shipped: Order, factor: dict[str, str]) -> None:
    response = track(shipped.number, factor)

    assert response.status_code == 200
    assert response.json()["number"] == shipped.number


def test_the_token_from_the_emails_opens_it(shipped: Order) -> None:
    response = track(shipped.number, {"token": tracking_token(number=shipped.number)})

    assert response.status_code == 200
    assert response.json()["status"] == "shipped"


def test_the_tracking_url_in_the_order_detail_works(shop: Shop, shipped: Order) -> None:
    url = api_for(shop.web_token).get(f"{ORDERS}{shipped.number}/").json()["tracking_url"]
    assert url == tracking_url(number=shipped.number)

    parts = urlsplit(url)
    response = APIClient().get(f"{parts.path}?{parts.query}")

    assert response.status_code == 200


def test_a_number_typed_in_lower_case_is_found(shipped: Order) -> None:
    assert track(shipped.number.lower(), {"email": "ana@example.com"}).status_code == 200


def test_the_page_shows_where_the_order_stands(shipped: Order) -> None:
    body = track(shipped.number, {"email": "ana@example.com"}).json()

    assert body["status"] == "shipped"
    assert body["status_label"] == "Shipped"
    assert body["fulfilment_type"] == "ship"
    assert (body["carrier"], body["tracking_number"]) == ("SEUR", "TRK-123")
    assert body["pickup_point"] is None
    assert body["placed_at"]
    assert body["ready_date"]
    assert [(entry["event"], entry["status"]) for entry in body["history"]] == [
        ("placed", "placed"),
        ("payment", "placed"),
        ("paid", "paid"),
        ("shipped", "shipped"),
    ]


def test_a_pickup_order_shows_the_pickup_point_name_and_city(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    body = track(order.number, {"email": "ana@example.com"}).json()

    assert body["pickup_point"] == {"name": "Tienda Sol", "city": shop.store.city}


def test_the_page_shows_no_personal_data(shop: Shop, shipped: Order) -> None:
    response = track(shipped.number, {"email": "ana@example.com"})

    assert set(response.json()) == {
        "number",
        "status",
        "status_label",
        "fulfilment_type",
        "placed_at",
        "ready_date",
        "carrier",
        "tracking_number",
        "pickup_point",
        "history",
    }
    assert set(response.json()["history"][0]) == {"event", "status", "at"}
    text = response.content.decode()
    for personal in ("Ana", "ana@example.com", "600000001", "Calle Luna", "41001", "Sevilla"):
        assert personal not in text


@pytest.mark.parametrize(
    "factor",
    [
        {},
        {"email": "eva@example.com"},
        {"email": "not an e-mail"},
        {"phone": "+34 600 000 002"},
        {"phone": "12"},
        {"token": "forged"},
        {"email": "", "phone": "", "token": ""},
    ],
    ids=["none", "other-email", "bad-email", "other-phone", "bad-phone", "forged-token", "blank"],
)
def test_a_wrong_or_missing_factor_answers_exactly_like_an_unknown_number(
    shipped: Order, factor: dict[str, str]
) -> None:
    unknown = track("ZZZZ-ZZZZ", {"email": "ana@example.com"})

    response = track(shipped.number, factor)

    assert (response.status_code, unknown.status_code) == (404, 404)
    assert response.content == unknown.content
    assert response.json()["error"]["code"] == "order_not_found"


def test_a_token_for_another_order_does_not_open_this_one(shop: Shop, shipped: Order) -> None:
    other = place(shop)
    assert track(shipped.number, {"token": tracking_token(number=other.number)}).status_code == 404


def test_a_channel_token_is_not_needed_nor_used(shop: Shop, shipped: Order) -> None:
    # A bad credential does not matter: the page is public and authenticates nobody.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert track(shipped.number, {"email": "ana@example.com"}, client).status_code == 200


def _tracking_rate(settings: Any, rate: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "order_tracking": rate},
    }


def test_tracking_is_throttled_per_address(settings: Any, shipped: Order) -> None:
    _tracking_rate(settings, "3/min")
    client = APIClient(REMOTE_ADDR="203.0.113.7")

    answers = [track(shipped.number, {"email": f"guess{i}@example.com"}, client).status_code for i in range(3)]
    blocked = track(shipped.number, {"email": "ana@example.com"}, client)

    assert answers == [404, 404, 404]
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "throttled"
    assert "Retry-After" in blocked


def test_another_address_is_not_throttled_by_the_first(settings: Any, shipped: Order) -> None:
    _tracking_rate(settings, "2/min")
    first, second = APIClient(REMOTE_ADDR="203.0.113.7"), APIClient(REMOTE_ADDR="198.51.100.9")
    for _ in range(2):
        track(shipped.number, {"email": "ana@example.com"}, first)

    assert track(shipped.number, {"email": "ana@example.com"}, first).status_code == 429
    assert track(shipped.number, {"email": "ana@example.com"}, second).status_code == 200
