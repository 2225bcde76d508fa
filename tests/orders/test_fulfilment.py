"""Getting the goods to the customer: ship, make ready, transfers arriving, hand-over and locker redeem."""

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from catalog.models import Variant
from config.channels import Channel
from config.roles import Role
from inventory.exceptions import TransferStateError
from inventory.models import Location, MovementKind, StockLevel, StockMovement, Transfer, TransferStatus
from inventory.services import transfer_receive, transfer_ship
from orders.codes import pickup_code, pickup_short_code
from orders.exceptions import (
    InvalidPickupCode,
    LocationNotBound,
    OrderInputError,
    OrderNotFound,
    OrderNotPaid,
    OrderStateError,
    PickupCodeUsed,
)
from orders.models import Order, OrderStatus
from orders.services import (
    Actor,
    order_deliver,
    order_hand_over,
    order_make_ready,
    order_payment_add,
    order_pickup_redeem,
    order_ship,
    order_transfers_receive,
)
from orders.services.fulfilment import orders_transfers_settle_due
from tests.factories import LocationFactory, UserFactory, channel_client, stock_receive_for
from tests.scenarios import Shop, pay, place, ship, staff_actor


def level(location: Location, variant: Variant) -> tuple[int, int]:
    found = StockLevel.objects.filter(location=location, variant=variant).first()
    return (found.on_hand, found.reserved) if found else (0, 0)


def code_of(order: Order) -> str:
    return pickup_code(number=order.number, secret=order.pickup_secret)


def staff_at(*locations: Location) -> Actor:
    """Staff working at these locations; the services' rules look at where they work, not their role."""
    user = UserFactory.create(is_staff=True)
    for location in locations:
        location.staff.add(user)
    return Actor(channel=Channel.STORE, user=user)


def state(order: Order) -> tuple[Any, ...]:
    order.refresh_from_db()
    return (order.status, order.ready_at, order.shipped_at, order.picked_up_at, order.pickup_code_used_at)


def shipped_in_transit(order: Order) -> None:
    """The sources send the order's transfers (the inventory screens do this)."""
    for transfer in Transfer.objects.filter(pk__in=order.lines.values("transfer_id"), status=TransferStatus.REQUESTED):
        transfer_ship(transfer=transfer)


def ready_pickup(shop: Shop, **kwargs: Any) -> Order:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, **kwargs))
    return order_make_ready(order=order, actor=shop.store_actor)


# --- Nothing leaves before it is paid and invoiced -------------------------------------------------


def test_an_unpaid_order_cannot_be_shipped(shop: Shop) -> None:
    order = place(shop)

    with pytest.raises(OrderNotPaid):
        order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")

    assert state(order)[0] == OrderStatus.PLACED
    assert level(shop.warehouse, shop.shirt) == (50, 1)


def test_a_partly_paid_order_cannot_be_shipped(shop: Shop) -> None:
    order = place(shop)
    order_payment_add(order=order, actor=shop.web, method="card", amount=order.total - 1, provider_reference="p")

    with pytest.raises(OrderNotPaid):
        order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")


def test_an_unpaid_pay_now_pickup_cannot_be_made_ready(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    with pytest.raises(OrderNotPaid):
        order_make_ready(order=order, actor=shop.store_actor)

    assert state(order)[:2] == (OrderStatus.PLACED, None)
    assert not order.notifications.filter(kind="ready_for_pickup").exists()


def test_an_unpaid_pay_at_pickup_order_may_be_made_ready(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    order = order_make_ready(order=order, actor=shop.store_actor)

    assert (order.status, order.is_paid, order.invoice_id) == (OrderStatus.READY, False, None)
    assert order.ready_at is not None
    assert order.notifications.filter(kind="ready_for_pickup").exists()


def test_making_a_pay_at_pickup_order_ready_gives_the_customer_the_days_from_today(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    Order.objects.filter(pk=order.pk).update(payment_due_by=timezone.now())

    order = order_make_ready(order=order, actor=shop.store_actor)

    last_day = timezone.localdate() + timedelta(days=settings.ORDER_PAY_AT_PICKUP_DAYS)
    assert order.payment_due_by == timezone.make_aware(datetime.combine(last_day, time.max))


def test_an_unpaid_pay_at_pickup_order_cannot_be_handed_over(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    order = order_make_ready(order=order, actor=shop.store_actor)
    before = state(order)

    with pytest.raises(OrderNotPaid):
        order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    assert state(order) == before
    assert level(shop.store, shop.shirt) == (5, 1)


def test_a_pay_at_pickup_order_paid_at_the_till_is_handed_over(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    order = order_make_ready(order=order, actor=shop.store_actor)
    order = order_payment_add(order=order, actor=shop.store_actor, method="cash", amount=order.total)

    order = order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    assert order.status == OrderStatus.PICKED_UP
    assert level(shop.store, shop.shirt) == (4, 0)


# --- Shipping ----------------------------------------------------------------------------------


def test_shipping_commits_the_sale_at_every_source(shop: Shop) -> None:
    north = LocationFactory.create(code="wh-north", kind="warehouse", can_ship=True, is_pickup_point=False)
    stock_receive_for(north, shop.shirt, 10)
    order = pay(shop, place(shop, lines=[(shop.shirt, 53), (shop.book, 2)]))

    order = order_ship(order=order, actor=staff_actor(Role.MANAGER), carrier="SEUR", tracking_number="TRK-1")

    assert (level(shop.warehouse, shop.shirt), level(north, shop.shirt), level(shop.warehouse, shop.book)) == (
        (0, 0),
        (7, 0),
        (48, 0),
    )
    sales = StockMovement.objects.filter(kind=MovementKind.SALE, reference=order.number)
    assert sorted(sales.values_list("location_id", "on_hand_delta")) == sorted(
        [(shop.warehouse.pk, -50), (north.pk, -3), (shop.warehouse.pk, -2)]
    )


def test_staff_of_the_only_source_ship_the_parcel(shop: Shop) -> None:
    order = pay(shop, place(shop))

    order = order_ship(order=order, actor=staff_at(shop.warehouse), carrier="SEUR", tracking_number="T1")

    assert order.status == OrderStatus.SHIPPED


def test_staff_of_one_of_two_sources_cannot_ship_the_parcel(shop: Shop) -> None:
    north = LocationFactory.create(code="wh-north", kind="warehouse", can_ship=True, is_pickup_point=False)
    stock_receive_for(north, shop.shirt, 10)
    order = pay(shop, place(shop, lines=[(shop.shirt, 53)]))
    assert set(order.lines.values_list("source__code", flat=True)) == {"wh-central", "wh-north"}

    for actor in (staff_at(shop.warehouse), staff_at(north)):
        with pytest.raises(PermissionDenied):
            order_ship(order=order, actor=actor, carrier="SEUR", tracking_number="T1")

    order = order_ship(order=order, actor=staff_at(shop.warehouse, north), carrier="SEUR", tracking_number="T1")
    assert order.status == OrderStatus.SHIPPED


def test_staff_of_a_location_that_supplies_nothing_cannot_ship(shop: Shop) -> None:
    order = pay(shop, place(shop))

    with pytest.raises(PermissionDenied):
        order_ship(order=order, actor=staff_at(shop.store), carrier="SEUR", tracking_number="T1")

    assert state(order)[0] == OrderStatus.PAID


def test_a_channel_bound_to_the_source_ships(shop: Shop) -> None:
    order = pay(shop, place(shop))

    order = order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")  # bound to the warehouse

    assert order.status == OrderStatus.SHIPPED


def test_a_channel_not_bound_to_the_source_cannot_ship(shop: Shop) -> None:
    order = place(shop, actor=shop.store_actor)
    order = order_payment_add(order=order, actor=shop.store_actor, method="cash", amount=order.total)

    with pytest.raises(PermissionDenied):
        order_ship(order=order, actor=shop.store_actor, carrier="SEUR", tracking_number="T1")

    assert state(order)[0] == OrderStatus.PAID


def test_shipping_records_the_carrier_tracking_and_time(shop: Shop) -> None:
    order = pay(shop, place(shop))

    order = order_ship(order=order, actor=shop.web, carrier=" SEUR ", tracking_number=" TRK-1 ")

    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == (OrderStatus.SHIPPED, "SEUR", "TRK-1")
    assert order.shipped_at is not None
    assert order.notifications.filter(kind="shipped").exists()


@pytest.mark.parametrize(
    ("carrier", "tracking", "missing"),
    [("", "TRK-1", ["carrier"]), ("SEUR", " ", ["tracking_number"]), ("", "", ["carrier", "tracking_number"])],
)
def test_shipping_needs_a_carrier_and_a_tracking_number(
    shop: Shop, carrier: str, tracking: str, missing: list[str]
) -> None:
    order = pay(shop, place(shop))

    with pytest.raises(OrderInputError) as caught:
        order_ship(order=order, actor=shop.web, carrier=carrier, tracking_number=tracking)

    assert sorted(caught.value.fields) == missing
    assert state(order)[0] == OrderStatus.PAID
    assert level(shop.warehouse, shop.shirt) == (50, 1)


def test_a_shipped_order_cannot_be_shipped_again(shop: Shop) -> None:
    order = ship(shop, pay(shop, place(shop)))

    with pytest.raises(OrderStateError):
        order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T2")

    assert level(shop.warehouse, shop.shirt) == (49, 0)


def test_a_pickup_order_cannot_be_shipped(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    with pytest.raises(OrderStateError) as caught:
        order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")

    assert caught.value.code == "wrong_fulfilment"


def test_an_order_is_delivered_only_after_it_is_shipped(shop: Shop) -> None:
    order = pay(shop, place(shop))

    with pytest.raises(OrderStateError):
        order_deliver(order=order, actor=shop.web)

    assert state(order)[0] == OrderStatus.PAID


def test_delivery_sets_the_delivered_time(shop: Shop) -> None:
    order = ship(shop, pay(shop, place(shop)))

    order = order_deliver(order=order, actor=shop.web)

    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.delivered_at is not None
    assert order.delivered_at >= order.shipped_at  # type: ignore[operator]
    assert order.notifications.filter(kind="delivered").exists()


# Who reports a parcel delivered: the channel that placed it or one bound to every location it left
# from; staff who work every one of them (or reach every order); the platform itself.


def shipped(shop: Shop, order: Order) -> Order:
    """Sent from the warehouse by its staff."""
    return order_ship(order=order, actor=staff_at(shop.warehouse), carrier="SEUR", tracking_number="T1")


def test_a_till_cannot_report_delivered_a_parcel_it_neither_placed_nor_sent(shop: Shop) -> None:
    order = shipped(shop, pay(shop, place(shop)))  # placed online, sent from the warehouse

    with pytest.raises(PermissionDenied):
        order_deliver(order=order, actor=shop.store_actor)

    assert state(order)[0] == OrderStatus.SHIPPED


def test_the_channel_that_placed_the_parcel_reports_it_delivered(shop: Shop) -> None:
    order = place(shop, actor=shop.store_actor)  # sold at the till, sent from the warehouse
    order = shipped(shop, order_payment_add(order=order, actor=shop.store_actor, method="cash", amount=order.total))

    order = order_deliver(order=order, actor=shop.store_actor)

    assert order.status == OrderStatus.DELIVERED


def test_a_channel_bound_to_the_source_reports_the_delivery(shop: Shop) -> None:
    carrier, _token = channel_client(Channel.STORE, name="Warehouse dock", locations=[shop.warehouse])
    order = shipped(shop, pay(shop, place(shop)))

    order = order_deliver(order=order, actor=Actor(channel=Channel.STORE, client=carrier))

    assert order.status == OrderStatus.DELIVERED


def test_staff_who_do_not_work_at_the_source_cannot_report_a_delivery(shop: Shop) -> None:
    order = shipped(shop, pay(shop, place(shop)))

    with pytest.raises(PermissionDenied):
        order_deliver(order=order, actor=staff_at(shop.store))

    assert state(order)[0] == OrderStatus.SHIPPED


def test_staff_who_placed_a_parcel_but_do_not_work_at_its_source_cannot_report_it_delivered(shop: Shop) -> None:
    clerk = staff_actor(Role.STORE_STAFF, shop.store)
    order = place(shop, actor=clerk)
    order = shipped(shop, order_payment_add(order=order, actor=clerk, method="cash", amount=order.total))

    with pytest.raises(PermissionDenied):
        order_deliver(order=order, actor=clerk)

    assert state(order)[0] == OrderStatus.SHIPPED


def test_staff_of_the_source_report_the_delivery(shop: Shop) -> None:
    order = shipped(shop, pay(shop, place(shop)))

    order = order_deliver(order=order, actor=staff_at(shop.warehouse))

    assert order.status == OrderStatus.DELIVERED


def test_staff_reaching_every_order_report_any_delivery(shop: Shop) -> None:
    order = shipped(shop, pay(shop, place(shop)))

    order = order_deliver(order=order, actor=staff_actor(Role.MANAGER))

    assert order.status == OrderStatus.DELIVERED


def test_the_platform_itself_reports_a_delivery(shop: Shop) -> None:
    order = shipped(shop, pay(shop, place(shop)))

    order = order_deliver(order=order, actor=Actor(channel=Channel.WEB))

    assert order.status == OrderStatus.DELIVERED


# --- Ready for pickup and transfers ----------------------------------------------------------------


def test_a_paid_pickup_order_is_made_ready_and_the_customer_is_told(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    order = order_make_ready(order=order, actor=shop.store_actor)

    assert order.status == OrderStatus.READY
    assert order.ready_at is not None
    assert order.notifications.filter(kind="ready_for_pickup").exists()
    assert [c.event for c in order.history.all()][-1] == "ready"


def test_a_shipped_order_cannot_be_made_ready(shop: Shop) -> None:
    order = pay(shop, place(shop))

    with pytest.raises(OrderStateError):
        order_make_ready(order=order, actor=shop.web)


def test_ready_is_refused_while_transfers_have_not_arrived(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 1)]))
    shipped_in_transit(order)

    with pytest.raises(OrderStateError) as caught:
        order_make_ready(order=order, actor=shop.store_actor)

    assert caught.value.code == "goods_not_arrived"
    assert state(order)[:2] == (OrderStatus.PAID, None)


def test_transfers_not_yet_shipped_cannot_be_received(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 1)]))

    with pytest.raises(OrderStateError) as caught:
        order_transfers_receive(order=order, actor=shop.store_actor)

    assert caught.value.code == "transfer_not_shipped"
    assert level(shop.store, shop.book) == (0, 0)


def test_received_transfers_are_reserved_at_the_pickup_point_and_the_paid_order_is_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2), (shop.shirt, 52)]))
    shipped_in_transit(order)
    assert (level(shop.warehouse, shop.book), level(shop.warehouse, shop.shirt)) == ((48, 0), (3, 0))

    order = order_transfers_receive(order=order, actor=shop.store_actor)

    assert order.status == OrderStatus.READY
    assert (level(shop.store, shop.book), level(shop.store, shop.shirt)) == ((2, 2), (52, 52))
    assert not order.lines.filter(transfer__isnull=False, arrived_at__isnull=True).exists()
    assert order.notifications.filter(kind="ready_for_pickup").exists()


def test_received_transfers_of_an_unpaid_pay_now_order_are_reserved_but_it_waits_for_payment(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)])
    shipped_in_transit(order)

    order = order_transfers_receive(order=order, actor=shop.store_actor)

    assert (order.status, order.ready_at) == (OrderStatus.PLACED, None)
    assert level(shop.store, shop.book) == (2, 2)
    assert not order.notifications.filter(kind="ready_for_pickup").exists()


@pytest.mark.parametrize("fulfilment", ["ship_to_store", "locker"])
def test_an_order_paid_after_its_goods_arrived_is_ready_at_once(shop: Shop, fulfilment: str) -> None:
    pickup = shop.locker if fulfilment == "locker" else shop.store
    order = place(
        shop, fulfilment="locker" if fulfilment == "locker" else "pickup", pickup=pickup, lines=[(shop.book, 1)]
    )
    shipped_in_transit(order)
    order = order_transfers_receive(
        order=order, actor=shop.locker_actor if fulfilment == "locker" else shop.store_actor
    )

    order = pay(shop, order)

    assert order.status == OrderStatus.READY
    assert order.is_paid
    assert Order.objects.get(pk=order.pk).status == OrderStatus.READY
    assert order.notifications.filter(kind="ready_for_pickup").exists()


def test_an_order_paid_before_its_goods_arrived_waits_for_them(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 1)])
    shipped_in_transit(order)

    order = pay(shop, order)

    assert order.status == OrderStatus.PAID


def test_paying_a_pickup_from_the_shelf_does_not_make_it_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    assert order.status == OrderStatus.PAID  # staff put it aside first


def test_received_transfers_of_a_pay_at_pickup_order_make_it_ready_unpaid(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)], payment_mode="at_pickup")
    shipped_in_transit(order)

    order = order_transfers_receive(order=order, actor=shop.store_actor)

    assert (order.status, order.is_paid) == (OrderStatus.READY, False)


def test_transfers_received_in_the_inventory_screens_are_settled_by_the_sweeper(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)]))
    shipped_in_transit(order)
    transfer_receive(transfer=order.lines.get().transfer)  # type: ignore[arg-type]
    assert level(shop.store, shop.book) == (2, 0)

    assert orders_transfers_settle_due() == 1

    order.refresh_from_db()
    assert order.status == OrderStatus.READY
    assert level(shop.store, shop.book) == (2, 2)
    assert orders_transfers_settle_due() == 0


def test_receiving_is_refused_for_a_shipped_order(shop: Shop) -> None:
    order = pay(shop, place(shop))

    with pytest.raises(OrderStateError):
        order_transfers_receive(order=order, actor=shop.web)


# --- Hand-over ---------------------------------------------------------------------------------


def test_hand_over_with_the_signed_code_commits_the_sale_at_the_store(shop: Shop) -> None:
    order = ready_pickup(shop, lines=[(shop.shirt, 2)])

    order = order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    assert order.status == OrderStatus.PICKED_UP
    order.refresh_from_db()
    assert order.picked_up_at is not None
    assert order.pickup_code_used_at == order.picked_up_at
    assert level(shop.store, shop.shirt) == (3, 0)
    assert StockMovement.objects.filter(kind=MovementKind.SALE, reference=order.number).count() == 1


@pytest.mark.parametrize("typed", ["as-is", "lower", "dashed"])
def test_hand_over_with_the_short_code(shop: Shop, typed: str) -> None:
    order = ready_pickup(shop)
    short = pickup_short_code(secret=order.pickup_secret)
    assert len(short) == 8
    code = {"as-is": short, "lower": short.lower(), "dashed": f"{short[:4]}-{short[4:]}"}[typed]

    order = order_hand_over(order=order, actor=shop.store_actor, code=code)

    assert order.status == OrderStatus.PICKED_UP


def test_split_pickup_commits_the_sale_where_the_units_are(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.shirt, 52)]))
    shipped_in_transit(order)
    order = order_transfers_receive(order=order, actor=shop.store_actor)

    order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    assert level(shop.store, shop.shirt) == (0, 0)
    assert level(shop.warehouse, shop.shirt) == (3, 0)


@pytest.mark.parametrize("wrong", ["short", "other-order", "forged", "empty"])
def test_a_wrong_code_is_refused_and_nothing_changes(shop: Shop, wrong: str) -> None:
    order = ready_pickup(shop)
    other = ready_pickup(shop)
    code = {
        "short": "AAAAAAAA",
        "other-order": code_of(other),
        "forged": pickup_code(number=order.number, secret="0" * 32),
        "empty": "",
    }[wrong]
    before = state(order)

    with pytest.raises(InvalidPickupCode):
        order_hand_over(order=order, actor=shop.store_actor, code=code)

    assert state(order) == before
    assert level(shop.store, shop.shirt) == (5, 2)


def test_a_used_code_is_refused(shop: Shop) -> None:
    order = ready_pickup(shop)
    order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    with pytest.raises(PickupCodeUsed):
        order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    assert level(shop.store, shop.shirt) == (4, 0)


def test_an_order_not_ready_cannot_be_handed_over(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    with pytest.raises(OrderStateError):
        order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))


def test_staff_of_the_pickup_store_hand_the_order_over(shop: Shop) -> None:
    order = ready_pickup(shop)

    order = order_hand_over(order=order, actor=staff_at(shop.store), code=code_of(order))

    assert order.status == OrderStatus.PICKED_UP
    assert order.history.last().user is not None  # type: ignore[union-attr]


def test_staff_of_another_store_cannot_hand_the_order_over(shop: Shop) -> None:
    order = ready_pickup(shop)
    before = state(order)

    with pytest.raises(PermissionDenied):
        order_hand_over(order=order, actor=staff_at(shop.other_store), code=code_of(order))

    assert state(order) == before


def test_staff_of_another_store_cannot_make_an_order_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    with pytest.raises(PermissionDenied):
        order_make_ready(order=order, actor=staff_at(shop.other_store))

    assert state(order)[0] == OrderStatus.PAID


def test_staff_of_another_store_cannot_receive_its_transfers(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 1)]))
    shipped_in_transit(order)

    with pytest.raises(PermissionDenied):
        order_transfers_receive(order=order, actor=staff_at(shop.other_store))

    assert level(shop.store, shop.book) == (0, 0)


def test_the_till_of_the_pickup_store_makes_the_order_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    order = order_make_ready(order=order, actor=shop.store_actor)

    assert order.status == OrderStatus.READY


def test_a_channel_not_bound_to_the_pickup_store_cannot_make_the_order_ready(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    with pytest.raises(PermissionDenied):
        order_make_ready(order=order, actor=shop.web)  # it placed the order, but it is no store

    assert state(order)[0] == OrderStatus.PAID


def test_a_till_of_another_store_cannot_hand_the_order_over(shop: Shop) -> None:
    order = ready_pickup(shop)
    till, _token = channel_client(Channel.STORE, name="Till Diagonal", locations=[shop.other_store])
    before = state(order)

    with pytest.raises(PermissionDenied):
        order_hand_over(order=order, actor=Actor(channel=Channel.STORE, client=till), code=code_of(order))

    assert state(order) == before


def test_a_till_of_another_store_cannot_receive_its_transfers(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.other_store, lines=[(shop.book, 1)]))
    shipped_in_transit(order)

    with pytest.raises(PermissionDenied):
        order_transfers_receive(order=order, actor=shop.store_actor)

    assert level(shop.other_store, shop.book) == (0, 0)


def test_staff_reaching_every_order_act_for_every_store(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    order = order_make_ready(order=order, actor=staff_actor(Role.AGENT))

    assert order.status == OrderStatus.READY


def test_a_manager_may_act_for_every_store(shop: Shop) -> None:
    manager = UserFactory.create(is_staff=True, is_superuser=True)
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))

    order = order_make_ready(order=order, actor=Actor(channel=Channel.STORE, user=manager))

    assert order.status == OrderStatus.READY


# --- Lockers -----------------------------------------------------------------------------------


def ready_locker(shop: Shop) -> Order:
    order = pay(shop, place(shop, fulfilment="locker", pickup=shop.locker))
    shipped_in_transit(order)
    # The locker bank's system reports the courier's drop: it is bound to this locker.
    order = order_transfers_receive(order=order, actor=shop.locker_actor)
    assert order.status == OrderStatus.READY
    return order


def test_the_locker_redeems_the_code_and_the_sale_is_committed_there(shop: Shop) -> None:
    order = ready_locker(shop)

    order = order_pickup_redeem(code=code_of(order), location_code=shop.locker.code, actor=shop.locker_actor)

    assert order.status == OrderStatus.PICKED_UP
    assert order.picked_up_at is not None
    assert level(shop.locker, shop.shirt) == (0, 0)


def test_another_locker_cannot_redeem_the_code(shop: Shop) -> None:
    order = ready_locker(shop)
    other = LocationFactory.create(code="locker-sol", kind="locker")
    other_client, _token = channel_client(Channel.LOCKER, name="Lockers Sol", locations=[other])
    before = state(order)

    with pytest.raises(OrderNotFound):
        order_pickup_redeem(
            code=code_of(order), location_code=other.code, actor=Actor(channel=Channel.LOCKER, client=other_client)
        )

    assert state(order) == before


@pytest.mark.parametrize("code", ["forged", "short", "unknown-order"])
def test_a_code_that_is_not_genuine_is_not_found(shop: Shop, code: str) -> None:
    order = ready_locker(shop)
    genuine = code_of(order)
    value = {
        "forged": genuine[:-3] + ("xyz" if not genuine.endswith("xyz") else "abc"),
        "short": pickup_short_code(secret=order.pickup_secret),
        "unknown-order": pickup_code(number="ZZZZ-ZZZZ", secret=order.pickup_secret),
    }[code]

    with pytest.raises(OrderNotFound):
        order_pickup_redeem(code=value, location_code=shop.locker.code, actor=shop.locker_actor)

    assert state(order)[0] == OrderStatus.READY


def test_a_locker_bound_to_one_locker_redeems_there_without_naming_it(shop: Shop) -> None:
    order = ready_locker(shop)

    order = order_pickup_redeem(code=code_of(order), actor=shop.locker_actor)

    assert order.status == OrderStatus.PICKED_UP


def test_a_locker_bound_to_several_lockers_must_name_the_one_that_scanned(shop: Shop) -> None:
    order = ready_locker(shop)
    sants = LocationFactory.create(code="locker-sants", kind="locker")
    assert shop.locker_actor.client is not None
    sants.channel_clients.add(shop.locker_actor.client)

    with pytest.raises(OrderInputError) as refused:
        order_pickup_redeem(code=code_of(order), actor=shop.locker_actor)

    assert refused.value.code == "location_required"
    assert state(order)[0] == OrderStatus.READY
    order = order_pickup_redeem(code=code_of(order), location_code=shop.locker.code, actor=shop.locker_actor)
    assert order.status == OrderStatus.PICKED_UP


def test_a_locker_cannot_redeem_at_a_locker_it_is_not_bound_to(shop: Shop) -> None:
    order = ready_locker(shop)
    other_client, _token = channel_client(Channel.LOCKER, name="Lockers Sants")
    LocationFactory.create(code="locker-sants", kind="locker").channel_clients.add(other_client)
    before = state(order)

    with pytest.raises(LocationNotBound):
        order_pickup_redeem(
            code=code_of(order),
            location_code=shop.locker.code,
            actor=Actor(channel=Channel.LOCKER, client=other_client),
        )

    assert state(order) == before


def test_a_locker_bound_nowhere_cannot_redeem(shop: Shop) -> None:
    order = ready_locker(shop)
    loose, _token = channel_client(Channel.LOCKER, name="Lockers nowhere")

    with pytest.raises(LocationNotBound):
        order_pickup_redeem(code=code_of(order), actor=Actor(channel=Channel.LOCKER, client=loose))

    assert state(order)[0] == OrderStatus.READY


def test_a_locker_code_is_used_once(shop: Shop) -> None:
    order = ready_locker(shop)
    order_pickup_redeem(code=code_of(order), location_code=shop.locker.code, actor=shop.locker_actor)

    with pytest.raises(PickupCodeUsed):
        order_pickup_redeem(code=code_of(order), location_code=shop.locker.code, actor=shop.locker_actor)


def test_a_store_pickup_code_does_not_open_a_locker(shop: Shop) -> None:
    order = ready_pickup(shop)

    with pytest.raises(OrderNotFound):
        order_pickup_redeem(code=code_of(order), location_code=shop.locker.code, actor=shop.locker_actor)


def test_an_unreceived_transfer_cannot_be_received_twice_by_inventory(shop: Shop) -> None:
    order = pay(shop, place(shop, fulfilment="locker", pickup=shop.locker))
    shipped_in_transit(order)
    order_transfers_receive(order=order, actor=shop.locker_actor)

    with pytest.raises(TransferStateError):
        transfer_receive(transfer=order.lines.get().transfer)  # type: ignore[arg-type]
