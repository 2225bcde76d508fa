"""The orders API: placing, listing, detail, payments and fulfilment commands; scope, errors, query counts."""

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Variant
from config.channels import Channel
from config.roles import Role
from customers.models import ContactPoint, Customer
from inventory.models import StockLevel
from orders.codes import tracking_url
from orders.models import Order, OrderStatus, Payment
from orders.services import Actor, order_payment_add, order_ship
from tests.api import staff_api, token_api
from tests.factories import (
    CustomerFactory,
    LocationFactory,
    UserFactory,
    VariantFactory,
    channel_client,
    staff_with_role,
    stock_receive_for,
)
from tests.scenarios import Shop, place

ORDERS = "/api/v1/orders/"
NUMBER_RE = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


# --- Helpers (the other API test modules import them) ------------------------------------------


def order_body(shop: Shop, **overrides: Any) -> dict[str, Any]:
    """A valid body for POST orders/: two shirts shipped home, paid now."""
    body: dict[str, Any] = {
        "customer": {"identities": [{"kind": "email", "value": "ana@example.com"}], "name": "Ana García"},
        "email": "ana@example.com",
        "phone": "+34 600 000 001",
        "language": "es",
        "lines": [{"sku": shop.shirt.sku, "quantity": 2}],
        "fulfilment_type": "ship",
        "shipping_address": {
            "name": "Ana García",
            "street": "Calle Luna 3",
            "city": "Sevilla",
            "postal_code": "41001",
            "country": "ES",
        },
        "payment_mode": "now",
    }
    body.update(overrides)
    return body


def post_order(api: APIClient, body: dict[str, Any], key: str | None = "key-1") -> Any:
    headers: dict[str, Any] = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(ORDERS, body, format="json", **headers)


def snapshot() -> tuple[Any, ...]:
    """Everything a refused order must leave as it was."""
    return (
        Order.objects.count(),
        Payment.objects.count(),
        Customer.objects.count(),
        ContactPoint.objects.count(),
        sorted(StockLevel.objects.values_list("pk", "on_hand", "reserved")),
    )


def reserved(location: Any, variant: Variant) -> int:
    return StockLevel.objects.get(location=location, variant=variant).reserved


def error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    return dict(body["error"])


# --- Placing ------------------------------------------------------------------------------------


def test_placing_an_order_answers_201_with_the_priced_and_reserved_order(shop: Shop) -> None:
    response = post_order(token_api(shop.web_token), order_body(shop))

    assert response.status_code == 201
    body = response.json()
    assert NUMBER_RE.match(body["number"])
    assert body["channel"] == "web"
    assert body["status"] == "placed"
    assert body["total"] == "39.90"
    assert body["amount_due"] == "39.90"
    assert body["customer"] == shop.customer.pk
    assert body["shipping_address"]["street"] == "Calle Luna 3"
    assert [(line["sku"], line["quantity"], line["unit_price"], line["source_location"]) for line in body["lines"]] == [
        (shop.shirt.sku, 2, "19.95", "wh-central")
    ]
    assert [entry["event"] for entry in body["history"]] == ["placed"]
    assert reserved(shop.warehouse, shop.shirt) == 2
    assert Order.objects.get(number=body["number"]).client_id == shop.web.client.pk  # type: ignore[union-attr]


def test_without_identities_the_email_and_phone_resolve_the_customer(shop: Shop) -> None:
    body = order_body(shop, customer={"identities": [], "name": ""}, email="ANA@example.com")

    response = post_order(token_api(shop.web_token), body)

    assert response.status_code == 201
    assert response.json()["customer"] == shop.customer.pk
    assert ContactPoint.objects.filter(customer=shop.customer, kind="phone", normalised_value="+34600000001").exists()


def test_unknown_identities_make_a_new_customer(shop: Shop) -> None:
    body = order_body(shop, customer={"identities": [{"kind": "email", "value": "new@example.com"}], "name": "Eva"})

    response = post_order(token_api(shop.web_token), body)

    assert response.status_code == 201
    customer = Customer.objects.get(pk=response.json()["customer"])
    assert customer != shop.customer
    assert customer.name == "Eva"


def test_a_pickup_order_names_its_store_by_code(shop: Shop) -> None:
    body = order_body(shop, fulfilment_type="pickup", pickup_location="madrid-sol", shipping_address=None)

    response = post_order(token_api(shop.web_token), body)

    assert response.status_code == 201
    assert response.json()["fulfilment_type"] == "pickup"
    assert response.json()["pickup_location"] == "madrid-sol"
    assert response.json()["pickup_location_name"] == "Tienda Sol"
    assert reserved(shop.store, shop.shirt) == 2


def test_staff_place_orders_for_the_store_channel(shop: Shop) -> None:
    clerk = staff_with_role(Role.STORE_STAFF, shop.store)

    response = post_order(staff_api(clerk), order_body(shop))

    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    assert (order.channel, order.client_id, order.placed_by_user) == ("store", None, clerk)


def test_invoicing_details_are_kept_for_a_full_invoice(shop: Shop) -> None:
    billing = {"tax_id": "12345678z", "name": "Ana García", "street": "Calle Sol 1", "city": "Madrid"}
    billing |= {"postal_code": "28013", "country": "ES"}

    response = post_order(token_api(shop.web_token), order_body(shop, billing=billing))

    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    assert (order.billing_tax_id, order.billing_street) == ("12345678Z", "Calle Sol 1")


def test_an_invalid_tax_id_is_refused(shop: Shop) -> None:
    billing = {"tax_id": "12345678A", "name": "Ana", "street": "Calle Sol 1", "city": "Madrid", "postal_code": "28013"}
    before = snapshot()

    response = post_order(token_api(shop.web_token), order_body(shop, billing={**billing, "country": "ES"}))

    assert response.status_code == 400
    assert "billing_tax_id" in error(response)["fields"]
    assert snapshot() == before


def test_placing_without_an_idempotency_key_is_refused(shop: Shop) -> None:
    before = snapshot()

    response = post_order(token_api(shop.web_token), order_body(shop), key=None)

    assert response.status_code == 400
    assert error(response)["code"] == "idempotency_key_required"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"lines": [{"sku": "NOPE-1", "quantity": 1}]}, "lines[0].sku", "invalid_lines"),
        ({"lines": [{"sku": "SHIRT", "quantity": 0}]}, "lines[0].quantity", "invalid_lines"),
        ({"lines": [{"sku": "SHIRT", "quantity": -1}]}, "lines[0].quantity", "invalid_lines"),
        ({"lines": []}, "lines", "invalid_lines"),
        (
            {"fulfilment_type": "pickup", "pickup_location": "wh-central", "shipping_address": None},
            "pickup_location",
            "invalid_order",
        ),
        (
            {"fulfilment_type": "pickup", "pickup_location": "nowhere", "shipping_address": None},
            "pickup_location",
            "invalid",
        ),
        ({"shipping_address": None}, "shipping_address", "invalid_order"),
        ({"shipping_address": {"name": "Ana", "street": "Calle Luna 3"}}, "shipping_address", "invalid_order"),
        ({"payment_mode": "at_pickup"}, "payment_mode", "invalid_order"),
        ({"fulfilment_type": "teleport"}, "fulfilment_type", "invalid"),
        ({"email": "not-an-email"}, "email", "invalid_order"),
        ({"customer": {"identities": []}, "email": "", "phone": ""}, "customer", "invalid"),
    ],
    ids=[
        "unknown-sku",
        "quantity-zero",
        "quantity-negative",
        "no-lines",
        "warehouse-is-no-pickup-point",
        "unknown-pickup-location",
        "ship-without-address",
        "ship-with-half-an-address",
        "pay-at-pickup-when-shipped",
        "unknown-fulfilment",
        "bad-email",
        "nobody-to-sell-to",
    ],
)
def test_bad_orders_are_refused_and_change_nothing(shop: Shop, change: dict[str, Any], field: str, code: str) -> None:
    body = order_body(shop, **change)
    for line in body["lines"]:
        line["sku"] = shop.shirt.sku if line["sku"] == "SHIRT" else line["sku"]
    before = snapshot()

    response = post_order(token_api(shop.web_token), body)

    assert response.status_code == 400
    assert error(response)["code"] == code
    assert field in error(response)["fields"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("where", "key"),
    [("line", "unit_price"), ("line", "price"), ("line", "total"), ("order", "total")],
)
def test_prices_sent_by_a_client_are_refused(shop: Shop, where: str, key: str) -> None:
    body = order_body(shop)
    if where == "line":
        body["lines"][0][key] = "0.01"
        field = f"lines[0].{key}"
    else:
        body[key] = "0.01"
        field = key
    before = snapshot()

    response = post_order(token_api(shop.web_token), body)

    assert response.status_code == 400
    assert error(response)["fields"][field] == ["Prices are set by the shop; do not send them."]
    assert snapshot() == before


def test_out_of_stock_answers_409_listing_the_lines_and_changes_nothing(shop: Shop) -> None:
    body = order_body(shop, lines=[{"sku": shop.shirt.sku, "quantity": 1}, {"sku": shop.book.sku, "quantity": 51}])
    before = snapshot()

    response = post_order(token_api(shop.web_token), body)

    assert response.status_code == 409
    assert error(response)["code"] == "out_of_stock"
    assert error(response)["lines"] == [{"sku": shop.book.sku, "requested": 51, "available": 50}]
    assert snapshot() == before


def test_a_refused_order_leaves_no_new_customer_behind(shop: Shop) -> None:
    body = order_body(
        shop,
        customer={"identities": [{"kind": "email", "value": "new@example.com"}], "name": "Eva"},
        lines=[{"sku": "NOPE-1", "quantity": 1}],
    )
    before = snapshot()

    assert post_order(token_api(shop.web_token), body).status_code == 400
    assert snapshot() == before


def test_anonymous_callers_cannot_place_orders(shop: Shop) -> None:
    before = snapshot()

    response = post_order(APIClient(), order_body(shop))

    assert response.status_code == 401
    assert snapshot() == before


# --- Listing ------------------------------------------------------------------------------------


def test_a_client_reaching_its_own_lists_only_the_orders_it_placed(shop: Shop) -> None:
    marketplace, token = channel_client(Channel.MARKETPLACE, name="Marketplace")
    mine = Actor(channel=Channel.MARKETPLACE, client=marketplace)
    first, second = place(shop, actor=mine), place(shop, lines=[(shop.book, 1)], actor=mine)
    place(shop)
    place(shop, actor=shop.store_actor)

    response = token_api(token).get(ORDERS)

    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert [row["number"] for row in response.json()["results"]] == [second.number, first.number]


def test_a_first_party_client_reaching_everyone_lists_every_order(shop: Shop) -> None:
    orders = {place(shop).number, place(shop, actor=shop.store_actor).number}

    response = token_api(shop.web_token).get(ORDERS)

    assert {row["number"] for row in response.json()["results"]} == orders


def test_anonymous_callers_cannot_list_orders(shop: Shop) -> None:
    place(shop)
    assert APIClient().get(ORDERS).status_code == 401


def test_the_list_is_paginated(shop: Shop) -> None:
    for _ in range(3):
        place(shop)

    body = token_api(shop.web_token).get(ORDERS, {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "paid"}, ["paid"]),
        ({"status": "placed"}, ["pickup", "shipped"]),
        ({"fulfilment_type": "pickup"}, ["pickup"]),
        ({"pickup_location": "madrid-sol"}, ["pickup"]),
        ({"payment_mode": "at_pickup"}, ["pickup"]),
        ({"channel": "web"}, ["pickup", "shipped", "paid"]),
        ({"channel": "store"}, []),
    ],
)
def test_the_list_filters(shop: Shop, query: dict[str, str], expected: list[str]) -> None:
    paid = place(shop)
    order_payment_add(order=paid, actor=shop.web, method="card", amount=paid.total, provider_reference="ch_f")
    orders = {
        "paid": paid,
        "shipped": place(shop, lines=[(shop.book, 1)]),
        "pickup": place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup"),
    }

    rows = token_api(shop.web_token).get(ORDERS, query).json()["results"]

    assert [row["number"] for row in rows] == [orders[name].number for name in expected]


def test_the_list_filters_by_customer_placing_date_and_number(shop: Shop) -> None:
    mine, other = place(shop), place(shop, email="otra@example.com")
    other_customer = CustomerFactory.create(name="Otra")
    Order.objects.filter(pk=other.pk).update(customer=other_customer, placed_at=timezone.now() - timedelta(days=10))
    api = token_api(shop.web_token)
    today = timezone.localdate().isoformat()

    def numbers(query: dict[str, Any]) -> list[str]:
        return [row["number"] for row in api.get(ORDERS, query).json()["results"]]

    assert numbers({"customer": shop.customer.pk}) == [mine.number]
    assert numbers({"customer": other_customer.pk}) == [other.number]
    assert numbers({"placed_from": today}) == [mine.number]
    assert numbers({"placed_to": (timezone.localdate() - timedelta(days=1)).isoformat()}) == [other.number]
    assert numbers({"search": other.number}) == [other.number]


def test_staff_see_the_orders_of_their_locations_only(shop: Shop) -> None:
    at_sol = place(shop, fulfilment="pickup", pickup=shop.store)
    place(shop, fulfilment="pickup", pickup=shop.other_store, lines=[(shop.book, 1)])
    clerk = staff_with_role(Role.STORE_STAFF, shop.store)

    rows = staff_api(clerk).get(ORDERS).json()["results"]

    assert [row["number"] for row in rows] == [at_sol.number]


def test_a_superuser_sees_every_order(shop: Shop) -> None:
    place(shop)
    place(shop, actor=shop.store_actor)
    boss = UserFactory.create(is_staff=True, is_superuser=True)

    assert staff_api(boss).get(ORDERS).json()["count"] == 2


# --- Detail -------------------------------------------------------------------------------------


def test_the_detail_shows_lines_payments_history_documents_and_tracking(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 2), (shop.book, 1)])
    order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="ch_d")

    response = token_api(shop.web_token).get(f"{ORDERS}{order.number}/")

    assert response.status_code == 200
    body = response.json()
    order.refresh_from_db()
    assert body["status"] == "paid"
    assert body["status_label"] == "Paid"
    assert (body["total"], body["tax_total"], body["paid_amount"], body["amount_due"]) == (
        "49.90",
        str(order.tax_total),
        "49.90",
        "0.00",
    )
    assert body["invoice"] == order.invoice.number  # type: ignore[union-attr]
    assert body["credit_note"] is None
    assert [(line["sku"], line["tax_rate"], line["line_total"], line["needs_transfer"]) for line in body["lines"]] == [
        (shop.shirt.sku, "21.00", "39.90", False),
        (shop.book.sku, "4.00", "10.00", False),
    ]
    assert body["payments"] == [
        {
            "kind": "capture",
            "method": "card",
            "amount": "49.90",
            "points": None,
            "provider_reference": "ch_d",
            "channel": "web",
            "created_at": body["payments"][0]["created_at"],
        }
    ]
    assert [(entry["event"], entry["status"], entry["channel"]) for entry in body["history"]] == [
        ("placed", "placed", "web"),
        ("payment", "placed", "web"),
        ("paid", "paid", "web"),
    ]
    assert body["tracking_url"] == tracking_url(number=order.number)
    assert body["payment_due_by"]
    assert body["ready_date"]
    assert body["placed_at"]


@pytest.mark.parametrize(
    "typed",
    [str.lower, lambda number: number.replace("-", ""), lambda number: number.replace("-", "").lower()],
    ids=["lower-case", "without-dash", "lower-case-without-dash"],
)
def test_the_detail_finds_a_number_typed_as_the_admin_finds_it(shop: Shop, typed: Callable[[str], str]) -> None:
    order = place(shop)

    response = token_api(shop.web_token).get(f"{ORDERS}{typed(order.number)}/")

    assert response.status_code == 200
    assert response.json()["number"] == order.number


def test_another_clients_order_is_not_found(shop: Shop) -> None:
    order = place(shop, actor=shop.store_actor)
    _client, token = channel_client(Channel.MARKETPLACE, name="Marketplace")

    response = token_api(token).get(f"{ORDERS}{order.number}/")

    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


def test_another_client_cannot_pay_or_cancel_an_order_it_did_not_place(shop: Shop) -> None:
    order = place(shop)
    _client, token = channel_client(Channel.MARKETPLACE, name="Marketplace")
    api = token_api(token)

    paid = api.post(
        f"{ORDERS}{order.number}/payments/",
        {"method": "card", "amount": "19.95", "provider_reference": "mk-1"},
        format="json",
    )
    cancelled = api.post(f"{ORDERS}{order.number}/cancel/", {"reason": "x"}, format="json")

    assert (paid.status_code, cancelled.status_code) == (404, 404)
    order.refresh_from_db()
    assert (order.status, order.paid_amount) == (OrderStatus.PLACED, Decimal(0))


def test_anonymous_callers_cannot_read_an_order(shop: Shop) -> None:
    order = place(shop)
    assert APIClient().get(f"{ORDERS}{order.number}/").status_code == 401


# --- Payments and commands ----------------------------------------------------------------------


def test_a_payment_covering_the_total_pays_and_invoices_the_order(shop: Shop) -> None:
    order = place(shop)

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/payments/",
        {"method": "card", "amount": "19.95", "provider_reference": "ch_1"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "paid"
    assert body["invoice"]
    assert body["amount_due"] == "0.00"
    assert [p["provider_reference"] for p in body["payments"]] == ["ch_1"]


def test_a_part_payment_leaves_the_rest_due(shop: Shop) -> None:
    order = place(shop)
    order_payment_add(order=order, actor=shop.web, method="card", amount=Decimal("5.00"), provider_reference="a")

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/payments/",
        {"method": "paypal", "amount": "4.95", "provider_reference": "pp_1"},
        format="json",
    )

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["amount_due"]) == ("placed", "10.00")


def test_paying_more_than_is_due_is_refused_and_changes_nothing(shop: Shop) -> None:
    order = place(shop)
    before = snapshot()

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/payments/",
        {"method": "card", "amount": "19.96", "provider_reference": "ch_x"},
        format="json",
    )

    assert response.status_code == 400
    assert error(response)["code"] == "payment_exceeds_due"
    assert error(response)["amount_due"] == "19.95"
    assert snapshot() == before
    order.refresh_from_db()
    assert (order.status, order.paid_amount, order.invoice_id) == (OrderStatus.PLACED, Decimal(0), None)


def test_a_channel_cannot_take_a_payment_method_it_may_not_use(shop: Shop) -> None:
    order = place(shop)
    before = snapshot()

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "19.95"}, format="json"
    )

    assert response.status_code == 403
    assert error(response)["code"] == "payment_method_not_allowed"
    assert snapshot() == before


def test_a_payment_with_an_unknown_method_is_refused(shop: Shop) -> None:
    order = place(shop)

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/payments/", {"method": "iou", "amount": "19.95"}, format="json"
    )

    assert response.status_code == 400
    assert "method" in error(response)["fields"]
    assert not Payment.objects.exists()


def test_cancelling_gives_the_stock_back(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 3)])
    assert reserved(shop.warehouse, shop.shirt) == 3

    response = token_api(shop.web_token).post(
        f"{ORDERS}{order.number}/cancel/", {"reason": "changed my mind"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "changed my mind"
    assert reserved(shop.warehouse, shop.shirt) == 0


def test_cancelling_a_paid_order_refunds_and_issues_a_credit_note(shop: Shop) -> None:
    order = place(shop)
    order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="ch_c")

    body = token_api(shop.web_token).post(f"{ORDERS}{order.number}/cancel/", {}, format="json").json()

    # Issue 17: the card's refund is owed (pending) until the integration confirms it; nothing moved yet.
    assert body["refunded_amount"] == "0.00"
    assert body["credit_note"]
    assert [p["kind"] for p in body["payments"]] == ["capture"]
    assert [(r["method"], r["amount"], r["status"]) for r in body["refunds"]] == [("card", "19.95", "pending")]


def test_a_shipped_order_cannot_be_cancelled(shop: Shop) -> None:
    order = place(shop)
    order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="ch_s")
    order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")

    response = token_api(shop.web_token).post(f"{ORDERS}{order.number}/cancel/", {}, format="json")

    assert response.status_code == 409
    assert error(response)["code"] == "order_state"


def test_a_paid_order_is_shipped_then_delivered(shop: Shop) -> None:
    order = place(shop)
    order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="ch_sd")
    api = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse))

    shipped = api.post(f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR", "tracking_number": "TRK1"}, format="json")
    delivered = api.post(f"{ORDERS}{order.number}/deliver/")

    assert shipped.status_code == 200
    # The warehouse's picking view: each parcel carries its carrier and tracking number.
    (parcel,) = shipped.json()["parcels"]
    assert (shipped.json()["status"], parcel["carrier"], parcel["tracking_number"]) == ("shipped", "SEUR", "TRK1")
    assert StockLevel.objects.get(location=shop.warehouse, variant=shop.shirt).on_hand == 49
    assert delivered.status_code == 200
    assert delivered.json()["status"] == "delivered"
    assert delivered.json()["delivered_at"]


def test_an_unpaid_order_is_not_shipped(shop: Shop) -> None:
    order = place(shop)

    response = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse)).post(
        f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR", "tracking_number": "TRK1"}, format="json"
    )

    assert response.status_code == 409
    assert error(response)["code"] == "order_not_paid"
    assert reserved(shop.warehouse, shop.shirt) == 1


def test_shipping_needs_a_carrier_and_a_tracking_number(shop: Shop) -> None:
    order = place(shop)

    response = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse)).post(
        f"{ORDERS}{order.number}/ship/", {"carrier": "SEUR"}, format="json"
    )

    assert response.status_code == 400
    assert set(error(response)["fields"]) == {"tracking_number"}


# --- Query counts -------------------------------------------------------------------------------


def _variants_in_stock(shop: Shop, count: int) -> list[Variant]:
    variants = [VariantFactory.create(price=Decimal("5.00")) for _ in range(count)]
    for variant in variants:
        stock_receive_for(shop.warehouse, variant, 10)
    return variants


def test_placing_50_lines_takes_the_same_queries_as_1_line(shop: Shop, django_assert_max_num_queries: Any) -> None:
    variants = _variants_in_stock(shop, 51)
    api = token_api(shop.web_token)
    post_order(api, order_body(shop), key="warm-up")  # the first request loads caches (content types...)

    with CaptureQueriesContext(connection) as one:
        response = post_order(api, order_body(shop, lines=[{"sku": variants[0].sku, "quantity": 1}]), key="one")
    assert response.status_code == 201
    many_lines = [{"sku": variant.sku, "quantity": 2} for variant in variants[1:]]
    with CaptureQueriesContext(connection) as fifty:
        response = post_order(api, order_body(shop, lines=many_lines), key="fifty")
    assert response.status_code == 201
    assert len(response.json()["lines"]) == 50

    assert len(fifty) == len(one)
    with django_assert_max_num_queries(len(one)):
        assert post_order(api, order_body(shop, lines=many_lines), key="fifty-again").status_code == 201


def test_the_detail_of_50_lines_takes_the_same_queries_as_1_line(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    variants = _variants_in_stock(shop, 50)
    small = place(shop, lines=[(variants[0], 1)])
    large = place(shop, lines=[(variant, 1) for variant in variants])
    for order in (small, large):
        order_payment_add(
            order=order, actor=shop.web, method="card", amount=order.total, provider_reference=order.number
        )
    api = token_api(shop.web_token)
    api.get(f"{ORDERS}{small.number}/")

    with CaptureQueriesContext(connection) as one:
        assert api.get(f"{ORDERS}{small.number}/").status_code == 200
    with CaptureQueriesContext(connection) as fifty:
        response = api.get(f"{ORDERS}{large.number}/")
    assert len(response.json()["lines"]) == 50

    assert len(fifty) == len(one)
    with django_assert_max_num_queries(len(one)):
        api.get(f"{ORDERS}{large.number}/")


def test_the_list_of_20_orders_takes_the_same_queries_as_1(shop: Shop, django_assert_max_num_queries: Any) -> None:
    api = token_api(shop.web_token)
    place(shop, fulfilment="pickup", pickup=shop.store)
    api.get(ORDERS)
    with CaptureQueriesContext(connection) as one:
        assert api.get(ORDERS).json()["count"] == 1
    other = LocationFactory.create(code="valencia", name="Tienda Valencia")
    for index in range(19):
        order = place(shop, fulfilment="pickup", pickup=other if index % 2 else shop.store, lines=[(shop.book, 1)])
        if index % 3 == 0:
            order_payment_add(
                order=order, actor=shop.web, method="card", amount=order.total, provider_reference=f"l{index}"
            )

    with CaptureQueriesContext(connection) as twenty:
        assert len(api.get(ORDERS).json()["results"]) == 20

    assert len(twenty) == len(one)
    with django_assert_max_num_queries(len(one)):
        api.get(ORDERS)
