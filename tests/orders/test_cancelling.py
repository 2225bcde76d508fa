"""Cancelling before the goods leave, and the expiry of unpaid orders."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from catalog.models import Variant
from config.channels import Channel
from config.roles import Role
from customers.models import LoyaltyAccount, LoyaltyEntryKind, StoreCreditEntry
from customers.services.loyalty import loyalty_adjust
from customers.services.store_credit import store_credit_balance, store_credit_grant
from inventory.models import Location, StockLevel, Transfer, TransferStatus
from inventory.services import transfer_ship
from invoicing.models import DocumentKind, Invoice
from invoicing.services import Buyer, invoice_ticket_exchange
from orders.codes import pickup_code
from orders.exceptions import OrderStateError
from orders.models import NotificationKind, Order, OrderStatus, Payment, PaymentKind, Refund
from orders.selectors import order_ids_payment_overdue
from orders.services import (
    Actor,
    order_cancel,
    order_expire,
    order_hand_over,
    order_hold_end,
    order_make_ready,
    order_payment_add,
    order_ship,
    order_transfers_receive,
)
from tests.api import token_api
from tests.factories import UserFactory, VariantFactory, stock_receive_for
from tests.scenarios import Shop, owed_back, place, staff_actor


def level(location: Location, variant: Variant) -> tuple[int, int]:
    found = StockLevel.objects.filter(location=location, variant=variant).first()
    return (found.on_hand, found.reserved) if found else (0, 0)


def points(shop: Shop) -> int:
    account = LoyaltyAccount.objects.filter(customer=shop.customer).first()
    return account.balance if account else 0


def card(order: Order, shop: Shop, amount: Decimal | None = None, reference: str = "cap-1") -> Order:
    return order_payment_add(
        order=order, actor=shop.web, method="card", amount=amount or order.amount_due, provider_reference=reference
    )


def overdue(order: Order, *, minutes: int = 1) -> None:
    Order.objects.filter(pk=order.pk).update(payment_due_by=timezone.now() - timedelta(minutes=minutes))


def ship_transfers(order: Order) -> None:
    for transfer in Transfer.objects.filter(pk__in=order.lines.values("transfer_id"), status=TransferStatus.REQUESTED):
        transfer_ship(transfer=transfer)


# --- Before payment ----------------------------------------------------------------------------


def test_cancelling_an_unpaid_order_releases_its_reservations(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 3), (shop.book, 2)])

    order = order_cancel(order=order, actor=shop.web, reason=" changed my mind ")

    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "changed my mind")
    assert order.cancelled_at is not None
    assert order.payment_due_by is None
    assert (level(shop.warehouse, shop.shirt), level(shop.warehouse, shop.book)) == ((50, 0), (50, 0))
    assert (order.refunded_amount, order.credit_note_id) == (Decimal(0), None)
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()
    assert [c.event for c in order.history.all()] == ["placed", "cancelled"]


def test_cancelling_a_store_pickup_releases_the_shelf(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.shirt, 5)])

    order_cancel(order=order, actor=shop.store_actor)

    assert level(shop.store, shop.shirt) == (5, 0)


def test_cancelling_an_unpaid_ready_pay_at_pickup_order_releases_it(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    order = order_make_ready(order=order, actor=shop.store_actor)

    order = order_cancel(order=order, actor=shop.store_actor)

    assert order.status == OrderStatus.CANCELLED
    assert level(shop.store, shop.shirt) == (5, 0)


def owed(order: Order) -> list[tuple[str, Decimal, int | None, str]]:
    """The order's refunds: method, amount, points and status, oldest first."""
    return [(r.method, r.amount, r.points, r.status) for r in Refund.objects.filter(order=order).order_by("id")]


# Changed by issue 17 (refunds that happen): a card's refund is owed (pending) until the integration
# confirms it; refunded_amount and the ledger count only what moved (here: the balances at once).


def test_cancelling_refunds_a_partial_payment(shop: Shop) -> None:
    order = card(place(shop), shop, amount=Decimal("5.00"))

    order = order_cancel(order=order, actor=shop.web)

    assert owed(order) == [("card", Decimal("5.00"), None, "pending")]
    assert order.refunded_amount == Decimal(0)  # not given back until the integration confirms it
    assert order.credit_note_id is None  # nothing was invoiced
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()


# --- After payment: money back and a credit note ------------------------------------------------


def test_cancelling_a_paid_order_refunds_the_provider_capture(shop: Shop) -> None:
    order = card(place(shop), shop, reference="ch_9")
    capture = order.payments.get()

    order = order_cancel(order=order, actor=shop.web)

    refund = Refund.objects.get()
    assert (refund.capture, refund.method, refund.amount, refund.status, refund.client) == (
        capture,
        "card",
        order.total,
        "pending",
        shop.web.client,
    )
    assert order.refunded_amount == Decimal(0)


def test_cancelling_refunds_every_capture_its_own_way(shop: Shop) -> None:
    store_credit_grant(customer=shop.customer, amount=Decimal("5.00"), reference="gift", reason="gift")
    loyalty_adjust(customer=shop.customer, points=400, reason="welcome")
    order = place(shop, lines=[(shop.shirt, 2)])
    order = order_payment_add(order=order, actor=shop.web, method="store_credit", amount=Decimal("5.00"))
    order = order_payment_add(order=order, actor=shop.web, method="loyalty_points", points=400)
    order = card(order, shop, reference="ch_1")
    assert (store_credit_balance(customer=shop.customer), points(shop)) == (Decimal(0), 30)  # 30.90 earned 30

    order = order_cancel(order=order, actor=shop.web)

    assert owed(order) == [
        ("store_credit", Decimal("5.00"), None, "succeeded"),
        ("loyalty_points", Decimal("4.00"), 400, "succeeded"),
        ("card", Decimal("30.90"), None, "pending"),
    ]
    assert order.refunded_amount == Order.objects.get(pk=order.pk).refunded_amount == Decimal("9.00")
    assert store_credit_balance(customer=shop.customer) == Decimal("5.00")
    assert StoreCreditEntry.objects.filter(amount=Decimal("5.00"), reason="refund", reference=order.number).exists()
    assert points(shop) == 400  # the redeemed points back, the earned ones taken back
    assert (
        LoyaltyAccount.objects.get(customer=shop.customer)
        .entries.filter(kind=LoyaltyEntryKind.REVERSE, reference=order.number)
        .count()
        == 2
    )


@pytest.mark.parametrize(("reason", "given"), [(" Out of patience ", "Out of patience"), ("", "Order cancelled")])
def test_the_refunds_of_a_cancellation_give_its_own_reason(shop: Shop, reason: str, given: str) -> None:
    order = card(place(shop), shop)

    order = order_cancel(order=order, actor=shop.web, reason=reason)

    assert [refund.reason for refund in order.refunds.all()] == [given]


def test_cancelling_a_paid_order_credits_the_whole_invoice(shop: Shop) -> None:
    order = card(place(shop, lines=[(shop.shirt, 2), (shop.book, 1)]), shop)

    order = order_cancel(order=order, actor=shop.web, reason="Out of patience")

    note = order.credit_note
    assert note is not None
    assert note.kind == DocumentKind.CREDIT_NOTE
    assert note.original == order.invoice
    assert note.payable_total == order.invoice.payable_total  # type: ignore[union-attr]
    assert (note.source_reference, note.reason, note.customer) == (order.number, "Out of patience", shop.customer)
    assert Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1


BUYER = Buyer(
    name="Ana García", tax_id="12345678Z", country="ES", street="Calle Luna 3", city="Sevilla", postal_code="41001"
)


def exchanged(order: Order) -> Invoice:
    """The customer asks for a full invoice for the order's ticket: the invoice that replaces it."""
    assert order.invoice is not None
    assert order.invoice.kind == DocumentKind.SIMPLIFIED
    return invoice_ticket_exchange(ticket=order.invoice, buyer=BUYER)


def test_cancelling_a_paid_order_whose_ticket_was_exchanged_credits_the_full_invoice(shop: Shop) -> None:
    order = card(place(shop, lines=[(shop.shirt, 2), (shop.book, 1)]), shop)
    full = exchanged(order)

    order = order_cancel(order=order, actor=shop.web, reason="Out of patience")

    note = order.credit_note
    assert note is not None
    assert (note.kind, note.original, note.payable_total) == (DocumentKind.CREDIT_NOTE, full, full.payable_total)
    assert not Invoice.objects.filter(original=order.invoice).exists()  # the ticket itself is not credited


def test_cancelling_a_paid_order_whose_ticket_was_exchanged_releases_stock_and_refunds(shop: Shop) -> None:
    order = card(place(shop, lines=[(shop.shirt, 2)]), shop)
    exchanged(order)

    order = order_cancel(order=order, actor=shop.web)

    assert order.status == OrderStatus.CANCELLED
    assert owed(order) == [("card", order.paid_amount, None, "pending")]
    assert level(shop.warehouse, shop.shirt) == (50, 0)


def test_the_api_cancels_a_paid_order_whose_ticket_was_exchanged(shop: Shop) -> None:
    order = card(place(shop), shop)
    full = exchanged(order)

    response = token_api(shop.web_token).post(f"/api/v1/orders/{order.number}/cancel/", {}, format="json")

    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.credit_note is not None
    assert order.credit_note.original == full


def test_cancelling_a_paid_order_releases_its_stock(shop: Shop) -> None:
    order = card(place(shop, lines=[(shop.shirt, 2)]), shop)

    order_cancel(order=order, actor=shop.web)

    assert level(shop.warehouse, shop.shirt) == (50, 0)


def test_cancelling_a_paid_ready_pickup_refunds_and_releases(shop: Shop) -> None:
    order = card(place(shop, fulfilment="pickup", pickup=shop.store), shop)
    order = order_make_ready(order=order, actor=shop.store_actor)

    order = order_cancel(order=order, actor=shop.store_actor)

    assert order.status == OrderStatus.CANCELLED
    assert owed(order) == [("card", order.total, None, "pending")]
    assert level(shop.store, shop.shirt) == (5, 0)


# --- Transfers ---------------------------------------------------------------------------------


def test_cancelling_a_ship_to_store_order_calls_its_requested_transfer_off(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)])
    transfer = order.lines.get().transfer
    assert transfer is not None

    order_cancel(order=order, actor=shop.web)

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED
    assert level(shop.warehouse, shop.book) == (50, 0)


def test_cancelling_a_split_pickup_releases_the_shelf_and_calls_the_transfer_off(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.shirt, 52)])

    order_cancel(order=order, actor=shop.web)

    assert (level(shop.store, shop.shirt), level(shop.warehouse, shop.shirt)) == ((5, 0), (50, 0))
    assert Transfer.objects.get().status == TransferStatus.CANCELLED


def test_cancelling_after_the_goods_arrived_releases_them_at_the_pickup_point(shop: Shop) -> None:
    order = card(place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)]), shop)
    ship_transfers(order)
    order = order_transfers_receive(order=order, actor=shop.store_actor)
    assert level(shop.store, shop.book) == (2, 2)

    order_cancel(order=order, actor=shop.store_actor)

    assert level(shop.store, shop.book) == (2, 0)  # back on sale where the units now are
    assert level(shop.warehouse, shop.book) == (48, 0)


def test_cancelling_while_the_goods_travel_leaves_them_to_arrive_as_stock(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)])
    ship_transfers(order)

    order_cancel(order=order, actor=shop.web)

    assert Transfer.objects.get().status == TransferStatus.IN_TRANSIT
    assert level(shop.warehouse, shop.book) == (48, 0)


def test_staff_of_another_store_cannot_cancel_its_pickups(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)
    user = UserFactory.create(is_staff=True)
    shop.other_store.staff.add(user)

    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=Actor(channel=Channel.STORE, user=user))

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    assert level(shop.store, shop.shirt) == (5, 1)


# --- Who cancels (orders.services.access) -------------------------------------------------------


def status_of(order: Order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


def test_the_pickup_stores_manager_cancels(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    order_cancel(order=order, actor=staff_actor(Role.STORE_MANAGER, shop.store))

    assert status_of(order) == OrderStatus.CANCELLED


def test_the_pickup_stores_staff_without_the_cancel_permission_cannot_cancel(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=staff_actor(Role.STORE_STAFF, shop.store))

    assert status_of(order) == OrderStatus.PLACED


def test_a_supplying_stores_manager_cannot_cancel(shop: Shop) -> None:
    hat = VariantFactory.create()
    stock_receive_for(shop.store, hat, 2)
    order = place(shop, fulfilment="pickup", pickup=shop.other_store, lines=[(hat, 1)])
    assert order.lines.get().source == shop.store

    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=staff_actor(Role.STORE_MANAGER, shop.store))

    assert status_of(order) == OrderStatus.PLACED


def test_store_managers_cannot_cancel_a_parcel_shipped_home(shop: Shop) -> None:
    order = place(shop)

    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=staff_actor(Role.STORE_MANAGER, shop.warehouse))

    assert status_of(order) == OrderStatus.PLACED


def test_customer_service_cancels_any_order(shop: Shop) -> None:
    order = place(shop)

    order_cancel(order=order, actor=staff_actor(Role.AGENT))

    assert status_of(order) == OrderStatus.CANCELLED


def test_staff_reaching_every_order_without_the_cancel_permission_cannot_cancel(shop: Shop) -> None:
    order = place(shop)

    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=staff_actor(Role.ACCOUNTANT))

    assert status_of(order) == OrderStatus.PLACED


def test_the_channel_that_placed_the_order_cancels_it(shop: Shop) -> None:
    order = place(shop, actor=shop.store_actor)

    order_cancel(order=order, actor=shop.store_actor)

    assert status_of(order) == OrderStatus.CANCELLED


def test_another_channel_cannot_cancel_an_order_it_did_not_place(shop: Shop) -> None:
    order = place(shop, actor=shop.store_actor)

    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=shop.web)

    assert status_of(order) == OrderStatus.PLACED


def test_the_till_of_the_pickup_store_cancels_an_order_placed_online(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    order_cancel(order=order, actor=shop.store_actor)

    assert status_of(order) == OrderStatus.CANCELLED


def test_a_till_of_another_store_cannot_cancel_an_order_placed_online(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.other_store, lines=[(shop.book, 1)])

    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=shop.store_actor)

    assert status_of(order) == OrderStatus.PLACED


def test_the_credit_note_is_issued_for_the_client_the_order_belongs_to(shop: Shop) -> None:
    order = card(place(shop, fulfilment="pickup", pickup=shop.store), shop)

    order = order_cancel(order=order, actor=shop.store_actor)  # the till of the pickup store cancels

    assert order.credit_note is not None
    assert order.credit_note.issued_by == shop.web.client


# --- Too late ----------------------------------------------------------------------------------


def test_a_shipped_order_cannot_be_cancelled(shop: Shop) -> None:
    order = card(place(shop), shop)
    order = order_ship(order=order, actor=shop.web, carrier="SEUR", tracking_number="T1")

    with pytest.raises(OrderStateError):
        order_cancel(order=order, actor=shop.web)

    order.refresh_from_db()
    assert (order.status, order.refunded_amount, order.credit_note_id) == (OrderStatus.SHIPPED, 0, None)
    assert level(shop.warehouse, shop.shirt) == (49, 0)


def test_an_order_handed_over_cannot_be_cancelled(shop: Shop) -> None:
    order = card(place(shop, fulfilment="pickup", pickup=shop.store), shop)
    order = order_make_ready(order=order, actor=shop.store_actor)
    order = order_hand_over(
        order=order, actor=shop.store_actor, code=pickup_code(number=order.number, secret=order.pickup_secret)
    )

    with pytest.raises(OrderStateError):
        order_cancel(order=order, actor=shop.store_actor)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PICKED_UP


def test_a_cancelled_order_cannot_be_cancelled_again(shop: Shop) -> None:
    order = order_cancel(order=card(place(shop), shop), actor=shop.web)

    with pytest.raises(OrderStateError):
        order_cancel(order=order, actor=shop.web)

    assert Refund.objects.count() == 1
    assert level(shop.warehouse, shop.shirt) == (50, 0)


# --- Expiry ------------------------------------------------------------------------------------


def test_an_expired_order_tells_the_customer_it_was_cancelled(shop: Shop) -> None:
    order = place(shop)
    overdue(order)

    order_expire(order_id=order.pk)

    assert order.notifications.filter(kind=NotificationKind.CANCELLED).count() == 1


def test_an_unpaid_order_past_its_deadline_expires(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 2)])
    overdue(order)

    assert order_expire(order_id=order.pk) is True

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancel_reason == "Not paid in time"
    assert level(shop.warehouse, shop.shirt) == (50, 0)
    assert order.history.last().channel == ""  # type: ignore[union-attr]  # the system's, not the web shop's


def test_an_unpaid_order_before_its_deadline_does_not_expire(shop: Shop) -> None:
    order = place(shop)

    assert order_expire(order_id=order.pk) is False

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED
    assert level(shop.warehouse, shop.shirt) == (50, 1)


def test_a_paid_order_does_not_expire_for_want_of_payment(shop: Shop) -> None:
    order = card(place(shop), shop)
    overdue(order)

    assert order_expire(order_id=order.pk) is False

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


def test_a_paid_order_ready_past_its_hold_is_not_held_forever(shop: Shop) -> None:
    # Issue 17 changed this: it was "a paid order never expires", and so a paid pickup nobody
    # collected waited on the shelf for ever. Its hold now ends (orders.services.holds).
    order = card(place(shop, fulfilment="pickup", pickup=shop.store), shop)
    order = order_make_ready(order=order, actor=shop.store_actor)
    overdue(order)
    Order.objects.filter(pk=order.pk).update(hold_ends_at=timezone.now() - timedelta(minutes=1))

    assert order_expire(order_id=order.pk) is False  # paid: not the expiry's business
    assert order_hold_end(order_id=order.pk) is True

    ended = Order.objects.get(pk=order.pk)
    assert (ended.status, ended.cancel_reason, owed_back(ended)) == (
        OrderStatus.CANCELLED,
        "Not collected in time",
        ended.total,
    )
    assert level(shop.store, shop.shirt) == (5, 0)


def test_a_cancelled_order_does_not_expire_again(shop: Shop) -> None:
    order = order_cancel(order=place(shop), actor=shop.web)
    overdue(order)

    assert order_expire(order_id=order.pk) is False


def test_an_order_gone_before_its_expiry_task_runs_is_left_alone(
    shop: Shop, django_assert_max_num_queries: Any
) -> None:
    missing_id = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    # The use case's savepoint (the test's transaction holds it), one locking read, its release.
    with django_assert_max_num_queries(3):
        assert order_expire(order_id=missing_id + 1000) is False


def test_an_expired_partly_paid_order_is_refunded(shop: Shop) -> None:
    order = card(place(shop), shop, amount=Decimal("5.00"))
    overdue(order)

    assert order_expire(order_id=order.pk) is True

    assert owed(order) == [("card", Decimal("5.00"), None, "pending")]


def test_an_uncollected_pay_at_pickup_order_expires_after_its_days(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    order = order_make_ready(order=order, actor=shop.store_actor)
    assert order_expire(order_id=order.pk) is False
    overdue(order)

    assert order_expire(order_id=order.pk) is True

    assert level(shop.store, shop.shirt) == (5, 0)


def test_the_sweeper_finds_only_unpaid_orders_past_their_deadline(shop: Shop) -> None:
    late, on_time, paid = place(shop), place(shop), card(place(shop), shop)
    overdue(late)
    overdue(paid)

    assert order_ids_payment_overdue() == [late.pk]
    assert on_time.pk not in order_ids_payment_overdue(now=timezone.now())
