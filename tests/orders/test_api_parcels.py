"""Parcels through the API (issue 17): listed in the order, shipped and delivered one by one, tracked."""

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Variant
from config.roles import Role
from inventory.models import Location, MovementKind, StockLevel, StockMovement
from orders.models import Order, OrderStatus
from tests.api import staff_api, token_api
from tests.factories import channel_client, staff_with_role
from tests.orders.test_api import ORDERS
from tests.orders.test_tracking import track
from tests.scenarios import Shop, pay, place


def ship_url(order: Order, parcel: int) -> str:
    return f"{ORDERS}{order.number}/parcels/{parcel}/ship/"


def deliver_url(order: Order, parcel: int) -> str:
    return f"{ORDERS}{order.number}/parcels/{parcel}/deliver/"


def central_api(shop: Shop) -> Any:
    return staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse))


def test_the_order_lists_its_parcels_with_their_lines(shop: Shop, split: Order) -> None:
    body = token_api(shop.web_token).get(f"{ORDERS}{split.number}/").json()

    assert [(p["parcel"], p["source_location"], p["status"]) for p in body["parcels"]] == [
        (1, "wh-central", "pending"),
        (2, "wh-north", "pending"),
    ]
    assert [(line["line"], line["sku"], line["quantity"]) for line in body["parcels"][0]["lines"]] == [
        (1, shop.shirt.sku, 2),
        (2, shop.book.sku, 1),
    ]


def test_staff_of_the_source_ship_its_parcel(shop: Shop, split: Order) -> None:
    response = central_api(shop).post(
        ship_url(split, 1),
        {"carrier": "SEUR", "tracking_number": "C-1", "lines": [{"line": 1, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    parcels = response.json()["parcels"]
    # The answer is the caller's picking view: the parcels leaving the central warehouse only.
    assert [(p["parcel"], p["status"], p["tracking_number"]) for p in parcels] == [
        (1, "shipped", "C-1"),
        (3, "pending", ""),
    ]
    assert response.json()["status"] == "paid"


def test_the_last_parcel_ships_the_order(shop: Shop, split: Order, north: Location) -> None:
    central_api(shop).post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")

    response = staff_api(staff_with_role(Role.WAREHOUSE, north)).post(
        ship_url(split, 2), {"carrier": "MRW", "tracking_number": "N-1"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "shipped"
    # The north's picking view: its own parcel's tracking number; the order seen whole joins them.
    assert [p["tracking_number"] for p in response.json()["parcels"]] == ["N-1"]
    assert token_api(shop.web_token).get(f"{ORDERS}{split.number}/").json()["tracking_number"] == "C-1, N-1"


def test_a_line_not_in_the_order_is_a_400_and_changes_nothing(shop: Shop, split: Order) -> None:
    response = central_api(shop).post(
        ship_url(split, 1),
        {"carrier": "SEUR", "tracking_number": "C-1", "lines": [{"line": 42, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_parcel"
    assert "lines[0]" in error["fields"]
    assert split.parcels.get(position=1).status == "pending"
    assert not StockMovement.objects.filter(kind=MovementKind.SALE, reference=split.number).exists()


def test_a_line_of_another_source_is_a_400(shop: Shop, split: Order) -> None:
    response = central_api(shop).post(
        ship_url(split, 1),
        {"carrier": "SEUR", "tracking_number": "C-1", "lines": [{"line": 3, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parcel"


def test_shipping_a_parcel_twice_is_a_409_and_changes_nothing(shop: Shop, split: Order) -> None:
    api = central_api(shop)
    api.post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")

    response = api.post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-2"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "parcel_state"
    assert split.parcels.get(position=1).tracking_number == "C-1"
    level = StockLevel.objects.get(location=shop.warehouse, variant=shop.shirt)
    assert (level.on_hand, level.reserved) == (48, 0)


def test_an_unknown_parcel_is_a_404(shop: Shop, split: Order) -> None:
    response = central_api(shop).post(ship_url(split, 9), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "parcel_not_found"


def test_another_channels_order_is_not_found(shop: Shop, split: Order) -> None:
    _, marketplace = channel_client("marketplace", name="Marketplace", scopes=["orders:read", "orders:fulfil"])

    response = token_api(marketplace).post(
        ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "X"}, format="json"
    )

    assert response.status_code == 404


def test_staff_of_another_source_are_refused_the_parcel(shop: Shop, split: Order, north: Location) -> None:
    response = staff_api(staff_with_role(Role.WAREHOUSE, north)).post(
        ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json"
    )

    assert response.status_code == 403
    assert split.parcels.get(position=1).status == "pending"


def test_staff_of_the_source_report_a_parcel_delivered(shop: Shop, split: Order) -> None:
    api = central_api(shop)
    api.post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")

    response = api.post(deliver_url(split, 1))

    assert response.status_code == 200, response.content
    assert [p["status"] for p in response.json()["parcels"]] == ["delivered"]  # the caller's own
    assert response.json()["status"] == OrderStatus.PAID  # the north's parcel has not left


def test_a_parcel_not_yet_shipped_is_not_delivered(shop: Shop, split: Order) -> None:
    response = central_api(shop).post(deliver_url(split, 1))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "parcel_state"


def test_a_suppliers_picking_view_lists_only_its_own_parcels(
    shop: Shop, split: Order, north: Location, lamp: Variant
) -> None:
    body = staff_api(staff_with_role(Role.WAREHOUSE, north)).get(f"{ORDERS}{split.number}/").json()

    assert body["view"] == "picking"
    assert [(p["parcel"], p["source_location"]) for p in body["parcels"]] == [(2, "wh-north")]
    assert [line["sku"] for line in body["parcels"][0]["lines"]] == [lamp.sku]
    assert "email" not in body
    assert "payments" not in body
    assert "history" not in body


def test_tracking_lists_the_parcels_without_personal_data(shop: Shop, split: Order, north: Location) -> None:
    central_api(shop).post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")

    body = track(split.number, {"email": "ana@example.com"}).json()

    assert [(p["parcel"], p["status"], p["carrier"], p["tracking_number"]) for p in body["parcels"]] == [
        (1, "shipped", "SEUR", "C-1"),
        (2, "pending", "", ""),
    ]
    assert [entry["event"] for entry in body["history"]] == ["placed", "payment", "paid"]
    assert "wh-north" not in str(body)


def test_the_detail_of_many_parcels_takes_the_same_queries_as_one(
    shop: Shop, split: Order, django_assert_max_num_queries: Any
) -> None:
    single = pay(shop, place(shop))
    api = token_api(shop.web_token)
    api.get(f"{ORDERS}{single.number}/")
    with CaptureQueriesContext(connection) as one:
        assert api.get(f"{ORDERS}{single.number}/").status_code == 200
    # Read now: the next request resets the connection's query log, and `one` reads it lazily.
    queries_for_one = len(one)
    assert queries_for_one > 0
    central_api(shop).post(
        ship_url(split, 1),
        {"carrier": "SEUR", "tracking_number": "C-1", "lines": [{"line": 1, "quantity": 1}]},
        format="json",
    )
    assert split.parcels.count() == 3

    with django_assert_max_num_queries(queries_for_one):
        assert len(api.get(f"{ORDERS}{split.number}/").json()["parcels"]) == 3


def test_shipping_a_parcel_through_the_api_is_bounded(
    shop: Shop, split: Order, django_assert_max_num_queries: Any
) -> None:
    api = central_api(shop)
    api.get(f"{ORDERS}{split.number}/")  # the session and the content types, loaded once

    # 29: the answer's order detail also lists the order's refunds (one prefetch, refunds that happen).
    with django_assert_max_num_queries(29):
        response = api.post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")
    assert response.status_code == 200


def test_the_order_list_finds_the_orders_with_parcels_to_ship_from_a_location(
    shop: Shop, split: Order, north: Location
) -> None:
    other = pay(shop, place(shop))
    central_api(shop).post(ship_url(other, 1), {"carrier": "SEUR", "tracking_number": "C-9"}, format="json")
    api = token_api(shop.web_token)

    to_ship_north = api.get(f"{ORDERS}?parcel_status=pending&ships_from=wh-north").json()["results"]
    to_ship_central = api.get(f"{ORDERS}?parcel_status=pending&ships_from=wh-central").json()["results"]
    shipped = api.get(f"{ORDERS}?parcel_status=shipped").json()["results"]

    assert [order["number"] for order in to_ship_north] == [split.number]
    assert [order["number"] for order in to_ship_central] == [split.number]
    assert [order["number"] for order in shipped] == [other.number]


def test_an_unknown_parcel_status_is_a_400(shop: Shop) -> None:
    response = token_api(shop.web_token).get(f"{ORDERS}?parcel_status=lost")

    assert response.status_code == 400


def cancel_url(order: Order, parcel: int) -> str:
    return f"{ORDERS}{order.number}/parcels/{parcel}/cancel/"


def test_the_channel_that_placed_the_order_cancels_a_parcel_still_to_ship(shop: Shop, split: Order) -> None:
    central_api(shop).post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")

    response = token_api(shop.web_token).post(cancel_url(split, 2), {"reason": "out of lamps"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(p["parcel"], p["status"]) for p in body["parcels"]] == [(1, "shipped"), (2, "cancelled")]
    assert body["status"] == "shipped"
    assert [refund["amount"] for refund in body["refunds"]] == ["30.00"]


def test_cancelling_a_parcel_that_left_is_a_409_and_changes_nothing(shop: Shop, split: Order) -> None:
    central_api(shop).post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")

    response = token_api(shop.web_token).post(cancel_url(split, 1), {}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "parcel_state"
    assert list(split.parcels.order_by("position").values_list("status", flat=True)) == ["shipped", "pending"]
    assert not split.refunds.exists()


def test_another_channels_order_has_no_parcel_to_cancel(shop: Shop, split: Order) -> None:
    _client, token = channel_client("marketplace", name="Other market", reach="own")

    response = token_api(token).post(cancel_url(split, 2), {}, format="json")

    assert response.status_code == 404
    assert set(split.parcels.values_list("status", flat=True)) == {"pending"}


# --- A warehouse's own integration: a credential reaching its own orders, bound to the warehouse


def north_integration(north: Location) -> Any:
    _client, token = channel_client(
        "app", name="North WMS", locations=[north], reach="own", scopes=["orders:read", "orders:fulfil"]
    )
    return token_api(token)


def test_a_credential_bound_to_a_warehouse_ships_and_delivers_its_parcels(split: Order, north: Location) -> None:
    api = north_integration(north)

    shipped = api.post(ship_url(split, 2), {"carrier": "MRW", "tracking_number": "N-1"}, format="json")
    delivered = api.post(deliver_url(split, 2), format="json")

    assert shipped.status_code == 200, shipped.content
    assert delivered.status_code == 200, delivered.content
    parcel = split.parcels.get(position=2)
    assert (parcel.status, parcel.tracking_number, parcel.shipped_by_client is not None) == ("delivered", "N-1", True)


def test_a_bound_credential_reads_the_picking_view_of_its_parcels_only(split: Order, north: Location) -> None:
    body = north_integration(north).get(f"{ORDERS}{split.number}/").json()

    assert body["view"] == "picking"
    assert [parcel["parcel"] for parcel in body["parcels"]] == [2]
    assert [line["position"] for line in body["lines"]] == [3]
    for personal in ("email", "phone", "customer", "payments", "history", "refunds", "pickup_code"):
        assert personal not in body


def test_a_bound_credentials_queue_lists_the_orders_with_parcels_to_ship_from_it(
    shop: Shop, split: Order, north: Location
) -> None:
    elsewhere = pay(shop, place(shop, lines=[(shop.shirt, 1)]))  # from the central warehouse only

    api = north_integration(north)
    rows = api.get(f"{ORDERS}?parcel_status=pending&ships_from=wh-north").json()["results"]
    everything = api.get(ORDERS).json()["results"]

    assert [(row["number"], row["view"]) for row in rows] == [(split.number, "picking")]
    assert elsewhere.number not in [row["number"] for row in everything]


def test_a_bound_credential_does_not_reach_an_order_with_nothing_leaving_its_locations(
    shop: Shop, north: Location
) -> None:
    elsewhere = pay(shop, place(shop, lines=[(shop.shirt, 1)]))

    response = north_integration(north).get(f"{ORDERS}{elsewhere.number}/")

    assert response.status_code == 404


def test_a_bound_credential_may_not_cancel_another_channels_order(split: Order, north: Location) -> None:
    response = north_integration(north).post(cancel_url(split, 2), {}, format="json")

    assert response.status_code == 403
    assert set(split.parcels.values_list("status", flat=True)) == {"pending"}


def test_the_picking_view_leaves_out_the_orders_carrier_and_tracking_number(
    shop: Shop, split: Order, north: Location
) -> None:
    central_api(shop).post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")
    staff_api(staff_with_role(Role.WAREHOUSE, north)).post(
        ship_url(split, 2), {"carrier": "MRW", "tracking_number": "N-1"}, format="json"
    )

    body = central_api(shop).get(f"{ORDERS}{split.number}/").json()

    assert body["view"] == "picking"
    assert "tracking_number" not in body
    assert "carrier" not in body
    assert [(p["carrier"], p["tracking_number"]) for p in body["parcels"]] == [("SEUR", "C-1")]


# --- Retries: the same Idempotency-Key and body answer the first answer, and ship or deliver once


def test_a_parcel_ship_replayed_with_the_same_key_answers_the_first_answer_and_ships_once(
    shop: Shop, split: Order
) -> None:
    api, body = central_api(shop), {"carrier": "SEUR", "tracking_number": "C-1"}
    first = api.post(ship_url(split, 1), body, format="json", HTTP_IDEMPOTENCY_KEY="ship-1")

    again = api.post(ship_url(split, 1), body, format="json", HTTP_IDEMPOTENCY_KEY="ship-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert StockMovement.objects.filter(kind=MovementKind.SALE, reference=split.number).count() == 2  # shirt, book
    assert split.history.filter(event="parcel_shipped").count() == 1


def test_a_parcel_deliver_replayed_with_the_same_key_answers_the_first_answer_and_delivers_once(
    shop: Shop, split: Order
) -> None:
    api = central_api(shop)
    api.post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")
    first = api.post(deliver_url(split, 1), format="json", HTTP_IDEMPOTENCY_KEY="deliver-1")

    again = api.post(deliver_url(split, 1), format="json", HTTP_IDEMPOTENCY_KEY="deliver-1")

    assert (first.status_code, again.status_code) == (200, 200)  # not a 409: the first answer again
    assert again.json() == first.json()
    assert split.history.filter(event="parcel_delivered").count() == 1


def test_a_parcel_cancel_replayed_with_the_same_key_answers_the_first_answer_and_refunds_once(
    shop: Shop, split: Order
) -> None:
    api, body = token_api(shop.web_token), {"reason": "out of lamps"}
    first = api.post(cancel_url(split, 2), body, format="json", HTTP_IDEMPOTENCY_KEY="cancel-2")

    again = api.post(cancel_url(split, 2), body, format="json", HTTP_IDEMPOTENCY_KEY="cancel-2")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert split.refunds.count() == 1


def test_cancelling_a_parcel_through_the_api_is_bounded(
    shop: Shop, split: Order, django_assert_max_num_queries: Any
) -> None:
    central_api(shop).post(ship_url(split, 1), {"carrier": "SEUR", "tracking_number": "C-1"}, format="json")
    api = token_api(shop.web_token)
    api.get(f"{ORDERS}{split.number}/")

    # 75: the stock released, a refund and its hand-over, the points taken back (the earning read,
    # then locked and its account updated: 11), a credit note (its series, billing record and lines),
    # the order shipped and its notice, the history, then the order's detail.
    with django_assert_max_num_queries(75):
        response = api.post(cancel_url(split, 2), {"reason": "out of lamps"}, format="json")
    assert response.status_code == 200
