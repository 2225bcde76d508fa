"""Parcels in the admin (issue 17): the ship form on the order, the parcels' queue, delivered per parcel."""

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Variant
from config.roles import Role
from inventory.models import Location
from orders.models import Order, OrderStatus, Parcel, ParcelLine, ParcelStatus
from orders.services import parcel_ship
from tests.api import admin_session
from tests.factories import staff_with_role
from tests.orders.test_admin import ORDERS, messages_of
from tests.scenarios import Shop, pay, place, staff_actor

PARCELS = "/admin/orders/parcel/"


def warehouse_client(location: Location) -> Client:
    return admin_session(staff_with_role(Role.WAREHOUSE, location))


def box_of(order: Order, position: int) -> dict[str, int]:
    """The ship form's answer putting every unit of this parcel in the box."""
    rows = ParcelLine.objects.filter(parcel__order=order, parcel__position=position)
    return {f"units_{row.pk}": row.quantity for row in rows}


def ship_from_order(client: Client, order: Order, **data: Any) -> Any:
    return client.post(ORDERS, {"action": "ship_parcel", "_selected_action": [order.pk], **data}, follow=True)


def statuses(order: Order) -> list[tuple[int, str]]:
    return list(order.parcels.order_by("position").values_list("position", "status"))


def test_the_order_page_lists_its_parcels(admin_client: Client, split: Order) -> None:
    html = admin_client.get(f"{ORDERS}{split.pk}/change/").content.decode()

    assert "wh-central" in html
    assert "wh-north" in html
    assert "To ship" in html


def test_the_ship_action_asks_for_the_carrier_the_tracking_number_and_the_lines(shop: Shop, split: Order) -> None:
    response = ship_from_order(warehouse_client(shop.warehouse), split)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="carrier"' in html
    assert 'name="tracking_number"' in html
    assert 'name="units_' in html
    assert shop.shirt.sku in html
    assert "wh-north" not in html  # the lamp's parcel is not this warehouse's to ship
    assert statuses(split) == [(1, "pending"), (2, "pending")]


def test_staff_of_the_source_ship_its_parcel_from_the_order(shop: Shop, split: Order) -> None:
    response = ship_from_order(
        warehouse_client(shop.warehouse),
        split,
        apply="1",
        carrier="SEUR",
        tracking_number="C-1",
        **box_of(split, 1),
    )

    assert f"{split.number}: parcel 1 shipped." in messages_of(response)
    parcel = split.parcels.get(position=1)
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == ("shipped", "SEUR", "C-1")
    assert parcel.shipped_by_user is not None
    assert Order.objects.get(pk=split.pk).status == OrderStatus.PAID


def test_lines_left_out_of_the_box_stay_for_the_next_parcel(shop: Shop, split: Order) -> None:
    shirts = ParcelLine.objects.get(parcel__order=split, order_line__position=1)  # 2 shirts

    ship_from_order(
        warehouse_client(shop.warehouse),
        split,
        apply="1",
        carrier="SEUR",
        tracking_number="C-1",
        **{f"units_{shirts.pk}": 1},
    )

    assert statuses(split) == [(1, "shipped"), (2, "pending"), (3, "pending")]
    assert list(split.parcels.get(position=1).lines.values_list("order_line__position", "quantity")) == [(1, 1)]
    assert list(split.parcels.get(position=3).lines.values_list("order_line__position", "quantity")) == [(1, 1), (2, 1)]


def test_lines_of_two_parcels_are_refused_and_nothing_changes(split: Order) -> None:
    everywhere = admin_session(staff_with_role(Role.MANAGER))

    response = ship_from_order(
        everywhere, split, apply="1", carrier="SEUR", tracking_number="C-1", **box_of(split, 1), **box_of(split, 2)
    )

    assert "Lines of one parcel at a time" in response.content.decode()
    assert statuses(split) == [(1, "pending"), (2, "pending")]


def test_staff_who_do_not_reach_the_order_ship_nothing_of_it(shop: Shop, split: Order) -> None:
    response = ship_from_order(
        warehouse_client(shop.other_store),
        split,
        apply="1",
        carrier="SEUR",
        tracking_number="X",
        **box_of(split, 1),
    )

    assert response.status_code == 200  # the order is not among the rows the action runs on
    assert statuses(split) == [(1, "pending"), (2, "pending")]


def test_staff_of_another_source_cannot_ship_a_parcel_not_theirs(shop: Shop, split: Order, north: Location) -> None:
    response = ship_from_order(
        warehouse_client(north), split, apply="1", carrier="SEUR", tracking_number="X", **box_of(split, 1)
    )

    assert statuses(split) == [(1, "pending"), (2, "pending")]
    assert response.status_code == 200


def test_a_suppliers_order_page_shows_only_its_parcels(split: Order, north: Location, lamp: Variant) -> None:
    html = warehouse_client(north).get(f"{ORDERS}{split.pk}/change/").content.decode()

    assert lamp.sku in html
    assert "wh-central" not in html
    assert "ana@example.com" not in html  # the label, never the contact


def test_the_parcels_list_shows_a_warehouse_its_own_parcels(shop: Shop, split: Order, north: Location) -> None:
    response = warehouse_client(north).get(PARCELS)

    assert response.status_code == 200
    assert [(p.order_id, p.position) for p in response.context["cl"].result_list] == [(split.pk, 2)]


def test_the_parcel_page_shows_the_label_and_not_the_customers_contact(split: Order, north: Location) -> None:
    parcel = split.parcels.get(position=2)

    html = warehouse_client(north).get(f"{PARCELS}{parcel.pk}/change/").content.decode()

    assert "Calle Luna 3" in html
    assert "ana@example.com" not in html


def test_the_ship_action_of_the_parcels_list_ships_the_chosen_parcel(split: Order, north: Location) -> None:
    parcel = split.parcels.get(position=2)
    client = warehouse_client(north)

    response = client.post(
        PARCELS,
        {
            "action": "ship",
            "_selected_action": [parcel.pk],
            "apply": "1",
            "carrier": "MRW",
            "tracking_number": "N-1",
            **box_of(split, 2),
        },
        follow=True,
    )

    assert f"{split.number}: parcel 2 shipped." in messages_of(response)
    assert statuses(split) == [(1, "pending"), (2, "shipped")]


def test_the_deliver_action_delivers_shipped_parcels_and_refuses_the_others(shop: Shop, split: Order) -> None:
    everywhere = staff_with_role(Role.MANAGER)
    parcel_ship(order=split, position=1, actor=staff_actor(Role.MANAGER), carrier="SEUR", tracking_number="C-1")
    parcels = list(Parcel.objects.filter(order=split).order_by("position"))

    response = admin_session(everywhere).post(
        PARCELS, {"action": "deliver", "_selected_action": [p.pk for p in parcels]}, follow=True
    )

    assert statuses(split) == [(1, "delivered"), (2, "pending")]
    texts = messages_of(response)
    assert "1 parcel delivered." in texts
    assert any("has not left yet" in text for text in texts), texts


def test_the_parcels_list_is_bounded(shop: Shop, django_assert_max_num_queries: Any) -> None:
    client = admin_session(staff_with_role(Role.MANAGER))
    pay(shop, place(shop))
    client.get(PARCELS)
    with CaptureQueriesContext(connection) as one:
        assert client.get(PARCELS).status_code == 200
    queries_for_one = len(one)  # read now: the next request resets the query log
    for _ in range(9):
        pay(shop, place(shop, lines=[(shop.shirt, 1), (shop.book, 2)]))

    with django_assert_max_num_queries(queries_for_one):
        response = client.get(PARCELS)
    assert len(response.context["cl"].result_list) == 10
    assert all(p.status == ParcelStatus.PENDING for p in response.context["cl"].result_list)


def test_an_empty_box_is_refused_and_nothing_changes(shop: Shop, split: Order) -> None:
    response = ship_from_order(
        warehouse_client(shop.warehouse), split, apply="1", carrier="SEUR", tracking_number="C-1"
    )

    assert "Put at least one unit in the box." in response.content.decode()
    assert statuses(split) == [(1, "pending"), (2, "pending")]


def test_more_units_than_the_parcel_holds_are_refused_by_the_form(shop: Shop, split: Order) -> None:
    shirts = ParcelLine.objects.get(parcel__order=split, order_line__position=1)

    response = ship_from_order(
        warehouse_client(shop.warehouse),
        split,
        apply="1",
        carrier="SEUR",
        tracking_number="C-1",
        **{f"units_{shirts.pk}": 3},
    )

    assert response.status_code == 200
    assert statuses(split) == [(1, "pending"), (2, "pending")]


def cancel_parcels(client: Client, *parcels: Parcel, **data: Any) -> Any:
    selected = [parcel.pk for parcel in parcels]
    return client.post(PARCELS, {"action": "cancel", "_selected_action": selected, **data}, follow=True)


def test_the_cancel_action_cancels_a_parcel_still_to_ship(split: Order) -> None:
    manager = admin_session(staff_with_role(Role.MANAGER))
    parcel_ship(order=split, position=1, actor=staff_actor(Role.MANAGER), carrier="SEUR", tracking_number="C-1")

    response = cancel_parcels(manager, split.parcels.get(position=2), apply="1", reason="out of lamps")

    assert "1 parcel cancelled." in messages_of(response)
    assert statuses(split) == [(1, "shipped"), (2, "cancelled")]
    assert Order.objects.get(pk=split.pk).status == OrderStatus.SHIPPED


def test_the_cancel_action_asks_for_a_reason_first(split: Order) -> None:
    response = cancel_parcels(admin_session(staff_with_role(Role.MANAGER)), split.parcels.get(position=2))

    assert 'name="reason"' in response.content.decode()
    assert statuses(split) == [(1, "pending"), (2, "pending")]


def test_the_cancel_action_refuses_a_parcel_that_left_and_changes_nothing(split: Order) -> None:
    manager = admin_session(staff_with_role(Role.MANAGER))
    parcel_ship(order=split, position=1, actor=staff_actor(Role.MANAGER), carrier="SEUR", tracking_number="C-1")

    response = cancel_parcels(manager, split.parcels.get(position=1), apply="1", reason="too late")

    assert any("has left already" in message for message in messages_of(response))
    assert statuses(split) == [(1, "shipped"), (2, "pending")]


def test_staff_who_may_not_cancel_orders_are_not_offered_the_cancel_action(shop: Shop, split: Order) -> None:
    html = warehouse_client(shop.warehouse).get(PARCELS).content.decode()

    assert 'value="ship"' in html
    assert 'value="cancel"' not in html
