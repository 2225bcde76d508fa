"""Parcels (issue 17): a ship order sourced from two warehouses leaves as two parcels, each shipped by
its own source's staff and delivered on its own (orders/services/parcels.py, rules 1 to 6)."""

import importlib
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from catalog.models import Variant
from config.roles import Role
from inventory.models import Location, MovementKind, StockLevel, StockMovement
from orders.exceptions import (
    OrderErrorCode,
    OrderInputError,
    OrderNotPaid,
    OrderStateError,
    ParcelInputError,
    ParcelNotFound,
    ParcelStateError,
)
from orders.models import NotificationKind, Order, OrderNotification, OrderStatus, Parcel, ParcelLine, ParcelStatus
from orders.services import Actor, ParcelLineRequest, order_cancel, order_deliver, parcel_deliver, parcel_ship
from orders.services.notifications import order_notification_message
from tests.scenarios import Shop, deliver, pay, place, ship, staff_actor


@pytest.fixture
def central_staff(shop: Shop) -> Actor:
    return staff_actor(Role.WAREHOUSE, shop.warehouse)


@pytest.fixture
def north_staff(north: Location) -> Actor:
    return staff_actor(Role.WAREHOUSE, north)


def contents(order: Order) -> list[tuple[int, str, str, list[tuple[int, int]]]]:
    """Each parcel: its number, source, status and (order line, units)."""
    return [
        (
            parcel.position,
            parcel.source.code,
            parcel.status,
            [(row.order_line.position, row.quantity) for row in parcel.lines.order_by("order_line__position")],
        )
        for parcel in order.parcels.select_related("source").order_by("position")
    ]


def level(location: Location, variant: Variant) -> tuple[int, int]:
    found = StockLevel.objects.get(location=location, variant=variant)
    return found.on_hand, found.reserved


def send(order: Order, position: int, actor: Actor, tracking: str = "T1", **kwargs: Any) -> Parcel:
    return parcel_ship(
        order=order,
        position=position,
        actor=actor,
        carrier=kwargs.pop("carrier", "SEUR"),
        tracking_number=tracking,
        **kwargs,
    )


# --- 1. Planning


def test_a_paid_order_from_two_sources_is_planned_as_one_parcel_per_source(split: Order) -> None:
    assert contents(split) == [
        (1, "wh-central", "pending", [(1, 2), (2, 1)]),
        (2, "wh-north", "pending", [(3, 1)]),
    ]


def test_an_unpaid_order_has_no_parcels_yet(shop: Shop) -> None:
    assert contents(place(shop)) == []


def test_a_pickup_order_has_no_parcels(shop: Shop) -> None:
    assert contents(pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))) == []


# --- 2. and 3. Shipping


def test_each_source_ships_its_own_parcel_and_the_order_ships_with_the_last(
    split: Order, central_staff: Actor, north_staff: Actor
) -> None:
    send(split, 1, central_staff, "C-1")
    split.refresh_from_db()
    assert split.status == OrderStatus.PAID
    assert split.shipped_at is None

    send(split, 2, north_staff, "N-1", carrier="MRW")
    split.refresh_from_db()
    assert split.status == OrderStatus.SHIPPED
    assert split.shipped_at is not None
    assert (split.carrier, split.tracking_number) == ("SEUR, MRW", "C-1, N-1")
    assert [status for _, _, status, _ in contents(split)] == ["shipped", "shipped"]


def test_a_shipped_parcel_records_its_carrier_tracking_time_and_who_sent_it(split: Order, central_staff: Actor) -> None:
    parcel = send(split, 1, central_staff, "C-1")

    parcel.refresh_from_db()
    assert (parcel.carrier, parcel.tracking_number) == ("SEUR", "C-1")
    assert parcel.shipped_at is not None
    assert parcel.shipped_by_user == central_staff.user
    assert parcel.shipped_by_client is None


def test_shipping_a_parcel_commits_the_sale_of_its_units_at_its_source_only(
    shop: Shop, split: Order, lamp: Variant, north: Location, central_staff: Actor
) -> None:
    send(split, 1, central_staff)

    assert level(shop.warehouse, shop.shirt) == (48, 0)
    assert level(shop.warehouse, shop.book) == (49, 0)
    assert level(north, lamp) == (10, 1)  # still reserved: its parcel has not left
    assert StockMovement.objects.filter(kind=MovementKind.SALE, reference=split.number).count() == 2


def test_shipping_some_lines_leaves_the_rest_as_the_next_parcel_from_the_same_source(
    shop: Shop, split: Order, central_staff: Actor
) -> None:
    send(split, 1, central_staff, lines=[ParcelLineRequest(line=1, quantity=1)])

    assert contents(split) == [
        (1, "wh-central", "shipped", [(1, 1)]),
        (2, "wh-north", "pending", [(3, 1)]),
        (3, "wh-central", "pending", [(1, 1), (2, 1)]),
    ]
    assert level(shop.warehouse, shop.shirt) == (49, 1)
    assert level(shop.warehouse, shop.book) == (50, 1)


def test_a_second_box_ships_like_the_first_and_the_order_ships_with_the_last(
    split: Order, central_staff: Actor, north_staff: Actor
) -> None:
    send(split, 1, central_staff, "C-1", lines=[ParcelLineRequest(line=1, quantity=2)])
    send(split, 2, north_staff, "N-1")
    split.refresh_from_db()
    assert split.status == OrderStatus.PAID

    send(split, 3, central_staff, "C-2")

    split.refresh_from_db()
    assert split.status == OrderStatus.SHIPPED
    assert split.tracking_number == "C-1, N-1, C-2"


def test_every_unit_is_in_exactly_one_parcel_after_partial_shipments(split: Order, central_staff: Actor) -> None:
    send(split, 1, central_staff, lines=[ParcelLineRequest(line=1, quantity=1), ParcelLineRequest(line=2, quantity=1)])
    send(split, 3, central_staff, "T2")

    units = {line.position: 0 for line in split.lines.all()}
    for row in ParcelLine.objects.filter(parcel__order=split).select_related("order_line"):
        units[row.order_line.position] += row.quantity
    assert units == {line.position: line.quantity for line in split.lines.all()}


def test_the_customer_is_told_once_that_the_order_left_with_every_tracking_number(
    split: Order, central_staff: Actor, north_staff: Actor
) -> None:
    send(split, 1, central_staff, "C-1")
    assert not OrderNotification.objects.filter(order=split, kind=NotificationKind.SHIPPED).exists()
    send(split, 2, north_staff, "N-1", carrier="MRW")

    notification = OrderNotification.objects.get(order=split, kind=NotificationKind.SHIPPED)
    text = order_notification_message(notification).text
    assert "SEUR" in text
    assert "C-1" in text
    assert "MRW" in text
    assert "N-1" in text


def test_order_ship_sends_every_parcel_left_under_one_tracking_number(shop: Shop, split: Order) -> None:
    everywhere = staff_actor(Role.MANAGER)  # reaches every order: works every location

    ship(shop, split, actor=everywhere, tracking_number="ALL-1")

    split.refresh_from_db()
    assert split.status == OrderStatus.SHIPPED
    assert [(p.status, p.tracking_number) for p in split.parcels.order_by("position")] == [
        ("shipped", "ALL-1"),
        ("shipped", "ALL-1"),
    ]
    assert split.tracking_number == "ALL-1"


def test_an_order_paid_before_parcels_existed_is_planned_when_shipped(shop: Shop, central_staff: Actor) -> None:
    order = pay(shop, place(shop))
    order.parcels.all().delete()  # as an order paid before this release

    send(order, 1, central_staff)

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert contents(order) == [(1, "wh-central", "shipped", [(1, 1)])]


# --- Who ships


def test_staff_of_another_source_cannot_ship_the_parcel(split: Order, north_staff: Actor) -> None:
    with pytest.raises(PermissionDenied):
        send(split, 1, north_staff)

    assert contents(split)[0][2] == "pending"


def test_a_credential_bound_to_the_source_ships_its_parcel(shop: Shop, split: Order) -> None:
    parcel = send(split, 1, shop.web)  # the web shop is bound to the central warehouse

    parcel.refresh_from_db()
    assert parcel.status == ParcelStatus.SHIPPED
    assert parcel.shipped_by_client == shop.web.client


def test_a_credential_not_bound_to_the_source_cannot_ship_it(shop: Shop, split: Order) -> None:
    with pytest.raises(PermissionDenied):
        send(split, 2, shop.web)


def test_staff_reaching_every_order_ship_any_parcel(split: Order) -> None:
    send(split, 2, staff_actor(Role.MANAGER))

    assert contents(split)[1][2] == "shipped"


# --- 5. Refusals change nothing


def assert_nothing_shipped(shop: Shop, order: Order, lamp: Variant, north: Location) -> None:
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert contents(order) == [
        (1, "wh-central", "pending", [(1, 2), (2, 1)]),
        (2, "wh-north", "pending", [(3, 1)]),
    ]
    assert level(shop.warehouse, shop.shirt) == (50, 2)
    assert level(north, lamp) == (10, 1)
    assert not StockMovement.objects.filter(kind=MovementKind.SALE, reference=order.number).exists()


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([ParcelLineRequest(line=9, quantity=1)], "lines[0]"),  # not in the order
        ([ParcelLineRequest(line=3, quantity=1)], "lines[0]"),  # the north's lamp
        ([ParcelLineRequest(line=1, quantity=3)], "lines[0]"),  # more than the parcel holds
        ([ParcelLineRequest(line=1, quantity=0)], "lines[0]"),
        ([ParcelLineRequest(line=1, quantity=1), ParcelLineRequest(line=1, quantity=1)], "lines[1]"),
        ([], "lines"),
    ],
    ids=["not-in-the-order", "other-source", "too-many", "zero", "twice", "none"],
)
def test_a_line_the_parcel_cannot_hold_is_refused_and_nothing_changes(
    shop: Shop,
    split: Order,
    lamp: Variant,
    north: Location,
    central_staff: Actor,
    lines: list[ParcelLineRequest],
    field: str,
) -> None:
    with pytest.raises(ParcelInputError) as refused:
        send(split, 1, central_staff, lines=lines)

    assert refused.value.code == OrderErrorCode.INVALID_PARCEL
    assert list(refused.value.fields) == [field]
    assert_nothing_shipped(shop, split, lamp, north)


def test_a_line_of_another_source_names_where_it_ships_from(split: Order, central_staff: Actor) -> None:
    with pytest.raises(ParcelInputError) as refused:
        send(split, 1, central_staff, lines=[ParcelLineRequest(line=3, quantity=1)])

    assert "wh-north" in refused.value.fields["lines[0]"][0]


def test_shipping_a_parcel_twice_is_refused_and_changes_nothing(shop: Shop, split: Order, central_staff: Actor) -> None:
    send(split, 1, central_staff, "C-1")

    with pytest.raises(ParcelStateError) as refused:
        send(split, 1, central_staff, "C-2")

    assert refused.value.status_code == 409
    parcel = split.parcels.get(position=1)
    assert parcel.tracking_number == "C-1"
    assert level(shop.warehouse, shop.shirt) == (48, 0)
    assert StockMovement.objects.filter(kind=MovementKind.SALE, reference=split.number).count() == 2


def test_an_unknown_parcel_is_not_found(split: Order, central_staff: Actor) -> None:
    with pytest.raises(ParcelNotFound):
        send(split, 7, central_staff)


def test_a_parcel_needs_a_carrier_and_a_tracking_number(
    shop: Shop, split: Order, lamp: Variant, north: Location, central_staff: Actor
) -> None:
    with pytest.raises(OrderInputError) as refused:
        send(split, 1, central_staff, " ", carrier="")

    assert set(refused.value.fields) == {"carrier", "tracking_number"}
    assert_nothing_shipped(shop, split, lamp, north)


def test_a_parcel_of_an_unpaid_order_is_not_shipped(shop: Shop, central_staff: Actor) -> None:
    order = place(shop)

    with pytest.raises(OrderNotPaid):
        send(order, 1, central_staff)

    assert contents(order) == []  # the plan made on the way went with the refusal


# --- 4. Delivery


def test_each_parcel_is_delivered_on_its_own_and_the_order_with_the_last(
    shop: Shop, split: Order, central_staff: Actor, north_staff: Actor
) -> None:
    send(split, 1, central_staff, "C-1")
    send(split, 2, north_staff, "N-1")

    parcel_deliver(order=split, position=2, actor=north_staff)
    split.refresh_from_db()
    assert split.status == OrderStatus.SHIPPED
    assert split.delivered_at is None
    assert not OrderNotification.objects.filter(order=split, kind=NotificationKind.DELIVERED).exists()

    parcel_deliver(order=split, position=1, actor=shop.web)  # the channel that placed the order
    split.refresh_from_db()
    assert split.status == OrderStatus.DELIVERED
    assert split.delivered_at is not None
    assert [status for _, _, status, _ in contents(split)] == ["delivered", "delivered"]
    assert OrderNotification.objects.filter(order=split, kind=NotificationKind.DELIVERED).count() == 1


def test_a_parcel_delivered_before_the_others_leave_leaves_the_order_paid(
    split: Order, central_staff: Actor, north_staff: Actor
) -> None:
    send(split, 1, central_staff)
    parcel_deliver(order=split, position=1, actor=central_staff)
    split.refresh_from_db()
    assert split.status == OrderStatus.PAID

    send(split, 2, north_staff, "N-1")
    parcel_deliver(order=split, position=2, actor=north_staff)

    split.refresh_from_db()
    assert split.status == OrderStatus.DELIVERED


def test_a_parcel_is_not_delivered_before_it_leaves(split: Order, central_staff: Actor) -> None:
    with pytest.raises(ParcelStateError):
        parcel_deliver(order=split, position=1, actor=central_staff)

    assert contents(split)[0][2] == "pending"


def test_a_parcel_is_not_delivered_twice(split: Order, central_staff: Actor) -> None:
    send(split, 1, central_staff)
    parcel_deliver(order=split, position=1, actor=central_staff)
    delivered_at = split.parcels.get(position=1).delivered_at

    with pytest.raises(ParcelStateError):
        parcel_deliver(order=split, position=1, actor=central_staff)

    assert split.parcels.get(position=1).delivered_at == delivered_at


def test_staff_of_another_source_cannot_report_a_parcel_delivered(
    split: Order, central_staff: Actor, north_staff: Actor
) -> None:
    send(split, 1, central_staff)

    with pytest.raises(PermissionDenied):
        parcel_deliver(order=split, position=1, actor=north_staff)


def test_a_till_that_neither_placed_the_order_nor_sent_the_parcel_cannot_report_it(
    shop: Shop, split: Order, central_staff: Actor
) -> None:
    send(split, 1, central_staff)

    with pytest.raises(PermissionDenied):
        parcel_deliver(order=split, position=1, actor=shop.store_actor)


def test_order_deliver_delivers_every_parcel_on_its_way(shop: Shop) -> None:
    order = deliver(shop, ship(shop, pay(shop, place(shop))))

    assert order.status == OrderStatus.DELIVERED
    assert [status for _, _, status, _ in contents(order)] == ["delivered"]


def test_order_deliver_is_refused_while_a_parcel_waits(split: Order, central_staff: Actor) -> None:
    send(split, 1, central_staff)

    with pytest.raises(OrderStateError):
        order_deliver(order=split, actor=staff_actor(Role.MANAGER))

    assert contents(split)[0][2] == "shipped"


# --- 6. Cancelling


def test_an_order_with_a_parcel_on_its_way_cannot_be_cancelled(
    shop: Shop, split: Order, lamp: Variant, north: Location, central_staff: Actor
) -> None:
    send(split, 1, central_staff)

    with pytest.raises(OrderStateError):
        order_cancel(order=split, actor=shop.web, reason="changed my mind")

    split.refresh_from_db()
    assert split.status == OrderStatus.PAID
    assert split.refunded_amount == 0
    assert level(north, lamp) == (10, 1)


def test_cancelling_before_any_parcel_left_discards_the_plan(shop: Shop, split: Order) -> None:
    order_cancel(order=split, actor=shop.web, reason="changed my mind")

    split.refresh_from_db()
    assert split.status == OrderStatus.CANCELLED
    assert contents(split) == []


# --- Query bounds


def test_shipping_a_parcel_is_bounded(
    shop: Shop, split: Order, central_staff: Actor, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(23):
        send(
            split,
            1,
            central_staff,
            lines=[ParcelLineRequest(line=1, quantity=1), ParcelLineRequest(line=2, quantity=1)],
        )


def test_the_last_parcel_shipping_the_order_is_bounded(
    split: Order, central_staff: Actor, north_staff: Actor, django_assert_max_num_queries: Any
) -> None:
    send(split, 1, central_staff)

    with django_assert_max_num_queries(26):
        send(split, 2, north_staff)


# --- Orders paid or shipped before parcels existed (orders/migrations/0009)


def test_the_migration_gives_older_orders_their_parcels_as_they_stand(shop: Shop, split: Order) -> None:
    from django.apps import apps

    plan = importlib.import_module("orders.migrations.0013_parcels_for_orders_paid_before").plan
    shipped = ship(shop, pay(shop, place(shop)), tracking_number="OLD-1")
    delivered = deliver(shop, ship(shop, pay(shop, place(shop)), tracking_number="OLD-2"))
    Parcel.objects.all().delete()  # as before this release

    plan(apps, None)

    assert contents(split) == [
        (1, "wh-central", "pending", [(1, 2), (2, 1)]),
        (2, "wh-north", "pending", [(3, 1)]),
    ]
    assert contents(shipped) == [(1, "wh-central", "shipped", [(1, 1)])]
    assert shipped.parcels.get().tracking_number == "OLD-1"
    assert contents(delivered) == [(1, "wh-central", "delivered", [(1, 1)])]
