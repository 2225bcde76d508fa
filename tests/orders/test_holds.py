"""Holds that end: a ready pickup waits for its location kind's hold, the customer is reminded once
before it ends, and after it a paid order not collected goes back to stock, cancelled and refunded.

The rule is orders.holds, the use cases orders.services.holds, the sweeper orders.tasks. The clock
is not frozen: tests move an order's hold end instead, as if the time had passed.
"""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Variant
from config.channels import Channel
from config.models import OutboxKind, OutboxMessage
from config.outbox import outbox_send, webhook_subscription_create
from customers.models import Customer
from inventory.models import Location, LocationKind, StockLevel, Transfer, TransferStatus
from inventory.services import transfer_receive, transfer_ship
from orders import tasks
from orders.codes import pickup_code
from orders.exceptions import OrderStateError, PickupCodeUsed
from orders.holds import HOLD_END_RETRY_AFTER
from orders.models import (
    NotificationKind,
    NotificationStatus,
    Order,
    OrderEvent,
    OrderNotification,
    OrderStatus,
    OrderStatusChange,
)
from orders.selectors import order_ids_hold_ended, order_ids_hold_reminder_due, order_ids_payment_overdue
from orders.services import (
    Actor,
    order_cancel,
    order_expire,
    order_hand_over,
    order_hold_end,
    order_hold_remind,
    order_make_ready,
    order_pickup_redeem,
    order_transfers_receive,
)
from orders.services.notifications import NOTIFICATION_EVENT
from orders.tasks import orders_holds_sweep
from tests.concurrency import raised, run_at_once
from tests.factories import VariantFactory, channel_client, stock_receive_for
from tests.scenarios import Shop, owed_back, pay, place

pytestmark = pytest.mark.django_db

REASON = "Not collected in time"


def level(location: Location, variant: Variant) -> tuple[int, int]:
    found = StockLevel.objects.filter(location=location, variant=variant).first()
    return (found.on_hand, found.reserved) if found else (0, 0)


def refreshed(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def ends_in(order: Order, delta: timedelta) -> Order:
    """Move the order's hold end to now + delta (negative: ended), as if the time had passed."""
    Order.objects.filter(pk=order.pk).update(hold_ends_at=timezone.now() + delta)
    return refreshed(order)


def in_english(order: Order) -> Order:
    """The customer's messages in English (the scenario orders in Spanish, whose texts the integrator adds)."""
    Order.objects.filter(pk=order.pk).update(language="en")
    return refreshed(order)


def ended(order: Order) -> Order:
    return ends_in(order, -timedelta(minutes=1))


def code_of(order: Order) -> str:
    return pickup_code(number=order.number, secret=order.pickup_secret)


def ready_in_store(shop: Shop, *, lines: list[tuple[Variant, int]] | None = None, **request: Any) -> Order:
    """Paid, from the store's own shelf, put aside: ready."""
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=lines, **request))
    return order_make_ready(order=order, actor=shop.store_actor)


def store_only_variant(shop: Shop) -> Variant:
    """A variant only the store has: a locker order for it is supplied by the store."""
    variant = VariantFactory.create(price=Decimal("12.00"))
    stock_receive_for(shop.store, variant, 3)
    return variant


def ready_in_locker(shop: Shop, variant: Variant, quantity: int = 1) -> Order:
    """Paid, sent to the locker by transfer, dropped by the courier: ready."""
    order = pay(shop, place(shop, fulfilment="locker", pickup=shop.locker, lines=[(variant, quantity)]))
    for transfer in Transfer.objects.filter(pk__in=order.lines.values("transfer_id")):
        transfer_ship(transfer=transfer)
    order = order_transfers_receive(order=order, actor=shop.locker_actor)
    assert order.status == OrderStatus.READY
    return order


def ready_unpaid_in_store(shop: Shop) -> Order:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    return order_make_ready(order=order, actor=shop.store_actor)


def reminders(order: Order) -> list[OrderNotification]:
    return list(OrderNotification.objects.filter(order=order, kind=NotificationKind.HOLD_ENDING))


# --- How long a hold is ------------------------------------------------------------------------


def test_every_location_kind_has_a_hold_period(settings: Any) -> None:
    assert set(settings.ORDER_HOLD_PERIODS) == set(LocationKind.values)
    assert all(period > settings.ORDER_HOLD_REMINDER_BEFORE for period in settings.ORDER_HOLD_PERIODS.values())


def test_the_default_holds_are_ten_days_in_a_store_and_seventy_two_hours_in_a_locker(settings: Any) -> None:
    assert settings.ORDER_HOLD_PERIODS[LocationKind.STORE] == timedelta(days=10)
    assert settings.ORDER_HOLD_PERIODS[LocationKind.LOCKER] == timedelta(hours=72)


def test_a_paid_store_pickup_is_held_for_the_stores_period_from_when_it_is_ready(shop: Shop, settings: Any) -> None:
    settings.ORDER_HOLD_PERIODS = {**settings.ORDER_HOLD_PERIODS, "store": timedelta(days=4)}

    order = ready_in_store(shop)

    assert order.ready_at is not None
    assert order.hold_ends_at == order.ready_at + timedelta(days=4)
    assert refreshed(order).hold_ends_at == order.hold_ends_at
    assert order.hold_reminded_at is None


def test_a_locker_order_is_held_for_the_lockers_period(shop: Shop, settings: Any) -> None:
    settings.ORDER_HOLD_PERIODS = {**settings.ORDER_HOLD_PERIODS, "locker": timedelta(hours=48)}

    order = ready_in_locker(shop, store_only_variant(shop))

    assert order.ready_at is not None
    assert order.hold_ends_at == order.ready_at + timedelta(hours=48)


def test_an_unpaid_pay_at_pickup_order_is_held_until_its_payment_deadline(shop: Shop) -> None:
    order = ready_unpaid_in_store(shop)

    assert order.payment_due_by is not None
    assert order.hold_ends_at == order.payment_due_by


def test_a_hold_shorter_than_the_reminder_lead_is_reminded_by_the_ready_message(shop: Shop, settings: Any) -> None:
    settings.ORDER_HOLD_PERIODS = {**settings.ORDER_HOLD_PERIODS, "store": timedelta(hours=12)}
    settings.ORDER_HOLD_REMINDER_BEFORE = timedelta(hours=24)

    order = ready_in_store(shop)

    assert order.hold_reminded_at == order.ready_at
    assert order_ids_hold_reminder_due() == []


def test_the_ready_message_says_until_when_the_order_is_kept(shop: Shop) -> None:
    order = in_english(ready_in_store(shop))
    message_id = OrderNotification.objects.get(order=order, kind=NotificationKind.READY).message_id

    outbox_send(message_id=message_id)

    [ready] = [m for m in mail.outbox if "ready for pickup" in m.subject]
    assert "We keep it for you until" in ready.body


def test_the_database_refuses_a_ready_order_without_a_hold_end(shop: Shop) -> None:
    order = ready_in_store(shop)

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(hold_ends_at=None)

    assert refreshed(order).hold_ends_at is not None


# --- The reminder ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["store", "locker"])
def test_the_customer_is_reminded_once_when_the_hold_is_about_to_end(
    shop: Shop, kind: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    order = ready_in_store(shop) if kind == "store" else ready_in_locker(shop, store_only_variant(shop))
    ends_in(order, timedelta(hours=2))

    for _ in range(2):  # the sweeper runs again: nothing more is sent
        with django_capture_on_commit_callbacks(execute=True):
            orders_holds_sweep()

    [reminder] = reminders(order)
    assert reminder.status == NotificationStatus.SENT
    assert refreshed(order).hold_reminded_at is not None
    assert refreshed(order).status == OrderStatus.READY
    assert reminder.channel == Channel.EMAIL
    assert [(m.to, order.number in m.subject) for m in mail.outbox] == [(["ana@example.com"], True)]
    assert OrderStatusChange.objects.filter(order=order, event=OrderEvent.HOLD_REMINDED).count() == 1


@pytest.mark.parametrize("kind", ["store", "locker"])
def test_the_reminder_comes_the_reminder_lead_before_the_end_not_earlier(shop: Shop, kind: str, settings: Any) -> None:
    settings.ORDER_HOLD_REMINDER_BEFORE = timedelta(hours=24)
    order = ready_in_store(shop) if kind == "store" else ready_in_locker(shop, store_only_variant(shop))

    ends_in(order, timedelta(hours=25))
    assert order_ids_hold_reminder_due() == []
    assert order_hold_remind(order_id=order.pk) is False

    ends_in(order, timedelta(hours=23))
    assert order_ids_hold_reminder_due() == [order.pk]
    assert order_hold_remind(order_id=order.pk) is True
    assert order_hold_remind(order_id=order.pk) is False
    assert len(reminders(order)) == 1


def test_no_reminder_once_the_hold_has_ended(shop: Shop) -> None:
    order = ended(ready_in_store(shop))

    assert order_ids_hold_reminder_due() == []
    assert order_hold_remind(order_id=order.pk) is False
    assert reminders(order) == []


def test_a_collected_order_is_not_reminded(shop: Shop) -> None:
    order = ready_in_store(shop)
    order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))
    ends_in(order, timedelta(hours=1))

    assert order_ids_hold_reminder_due() == []
    assert order_hold_remind(order_id=order.pk) is False


def test_the_reminder_email_says_until_when_and_that_the_money_comes_back(shop: Shop) -> None:
    order = ends_in(in_english(ready_in_store(shop)), timedelta(hours=3))
    order_hold_remind(order_id=order.pk)
    [reminder] = reminders(order)

    assert outbox_send(message_id=reminder.message_id) is True

    [sent] = [m for m in mail.outbox if m.subject == f"Reminder: your order {order.number} is waiting for you"]
    assert sent.to == ["ana@example.com"]
    assert "is still waiting for you at Tienda Sol, until" in sent.body
    assert "it goes back to stock and we refund 19.95 EUR" in sent.body
    assert "pickup-qr" not in sent.body  # no pickup code in a reminder


@pytest.mark.parametrize("meanwhile", ["collected", "hold_ended"])
def test_a_reminder_owed_before_the_order_stopped_waiting_does_not_go_out(shop: Shop, meanwhile: str) -> None:
    order = ends_in(in_english(ready_in_store(shop)), timedelta(hours=3))
    order_hold_remind(order_id=order.pk)
    [reminder] = reminders(order)
    if meanwhile == "collected":
        order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))
    else:
        ended(order)
    mail.outbox.clear()

    outbox_send(message_id=reminder.message_id)

    assert [m for m in mail.outbox if m.subject.startswith("Reminder")] == []
    reminder.refresh_from_db()
    assert reminder.status == NotificationStatus.NOT_NEEDED
    assert OutboxMessage.objects.get(pk=reminder.message_id).status == "undeliverable"  # settled, never retried


def test_the_reminder_of_an_unpaid_pickup_asks_for_payment(shop: Shop) -> None:
    order = ends_in(in_english(ready_unpaid_in_store(shop)), timedelta(hours=3))
    order_hold_remind(order_id=order.pk)
    [reminder] = reminders(order)

    outbox_send(message_id=reminder.message_id)

    [sent] = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert "You pay 19.95 EUR when you collect it; if it is not collected by then, it is cancelled." in sent.body


def test_the_reminder_goes_through_the_customers_channel(shop: Shop) -> None:
    client, _token = channel_client(Channel.WHATSAPP, name="WhatsApp Business")
    hook = webhook_subscription_create(
        client=client, event=NOTIFICATION_EVENT, url="https://whatsapp.example.com/hooks/orders"
    )
    Customer.objects.filter(pk=shop.customer.pk).update(preferred_contact_channel=Channel.WHATSAPP)
    whatsapp = Actor(channel=Channel.WHATSAPP, client=client)
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, actor=whatsapp), actor=whatsapp)
    order = ends_in(order_make_ready(order=order, actor=shop.store_actor), timedelta(hours=2))
    order_hold_remind(order_id=order.pk)
    [reminder] = reminders(order)

    outbox_send(message_id=reminder.message_id)

    reminder.refresh_from_db()
    assert (reminder.status, reminder.channel) == (NotificationStatus.SENT, Channel.WHATSAPP)
    assert mail.outbox == []
    [delivery] = OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK, subscription=hook)
    assert (delivery.body["kind"], delivery.body["order"]["number"]) == (NotificationKind.HOLD_ENDING, order.number)
    assert "pickup" not in delivery.body  # a reminder carries no pickup code


# --- The end -----------------------------------------------------------------------------------


def test_a_paid_store_pickup_not_collected_is_cancelled_refunded_and_back_on_the_shelf(shop: Shop) -> None:
    order = ready_in_store(shop, lines=[(shop.shirt, 2)])
    assert level(shop.store, shop.shirt) == (5, 2)
    ended(order)

    assert order_hold_end(order_id=order.pk) is True

    cancelled = refreshed(order)
    assert (cancelled.status, cancelled.cancel_reason) == (OrderStatus.CANCELLED, REASON)
    assert owed_back(cancelled) == cancelled.total
    assert cancelled.credit_note_id is not None
    assert level(shop.store, shop.shirt) == (5, 0)  # back on sale where it waited
    last = cancelled.history.order_by("id").last()
    assert last is not None
    assert (last.event, last.note) == (OrderEvent.CANCELLED, REASON)
    assert not Transfer.objects.filter(source=shop.store).exists()  # a store keeps what it holds


def test_the_refunds_of_a_hold_end_say_it_was_not_collected_in_time(shop: Shop) -> None:
    order = ended(ready_in_store(shop))

    order_hold_end(order_id=order.pk)

    assert [refund.reason for refund in refreshed(order).refunds.all()] == [REASON]


def test_a_hold_end_tells_the_customer_why_and_what_is_given_back(shop: Shop) -> None:
    order = in_english(ended(ready_in_store(shop)))
    order_hold_end(order_id=order.pk)

    outbox_send(message_id=OrderNotification.objects.get(order=order, kind=NotificationKind.CANCELLED).message_id)

    [message] = [sent for sent in mail.outbox if "was cancelled" in sent.subject]
    assert f"was cancelled: {REASON}." in message.body
    assert f"We give back {order.total} {order.currency}" in message.body


def test_a_hold_end_and_its_reminder_are_recorded_as_the_systems_not_the_orders_channel(shop: Shop) -> None:
    order = ends_in(ready_in_store(shop), timedelta(hours=1))
    order_hold_remind(order_id=order.pk)
    ended(order)

    order_hold_end(order_id=order.pk)

    who = {
        change.event: (change.channel, change.client, change.user)
        for change in refreshed(order).history.filter(event__in=(OrderEvent.HOLD_REMINDED, OrderEvent.CANCELLED))
    }
    assert who == {OrderEvent.HOLD_REMINDED: ("", None, None), OrderEvent.CANCELLED: ("", None, None)}


def test_a_lockers_uncollected_goods_go_back_to_the_store_that_supplied_them(shop: Shop) -> None:
    variant = store_only_variant(shop)
    order = ready_in_locker(shop, variant, quantity=2)
    assert order.lines.get().source_id == shop.store.pk
    assert (level(shop.store, variant), level(shop.locker, variant)) == ((1, 0), (2, 2))
    ended(order)

    assert order_hold_end(order_id=order.pk) is True

    cancelled = refreshed(order)
    assert (cancelled.status, owed_back(cancelled)) == (OrderStatus.CANCELLED, cancelled.total)
    back = Transfer.objects.get(source=shop.locker)
    assert (back.destination_id, back.status, back.reference) == (shop.store.pk, TransferStatus.REQUESTED, order.number)
    assert list(back.lines.values_list("variant_id", "quantity")) == [(variant.pk, 2)]
    assert level(shop.locker, variant) == (2, 2)  # released, then held for the courier: never on sale there
    sent_back = cancelled.history.get(event=OrderEvent.SENT_BACK)
    assert sent_back.note == f"T-{back.pk} → {shop.store.code}"

    # The courier takes them, the store receives them: on sale there again.
    transfer_ship(transfer=back)
    transfer_receive(transfer=back)
    assert (level(shop.store, variant), level(shop.locker, variant)) == ((3, 0), (0, 0))


def test_a_locker_order_supplied_by_two_locations_sends_each_its_own_goods_back(shop: Shop) -> None:
    from_store = store_only_variant(shop)
    order = pay(shop, place(shop, fulfilment="locker", pickup=shop.locker, lines=[(from_store, 1), (shop.book, 2)]))
    for transfer in Transfer.objects.filter(pk__in=order.lines.values("transfer_id")):
        transfer_ship(transfer=transfer)
    order = ended(order_transfers_receive(order=order, actor=shop.locker_actor))

    order_hold_end(order_id=order.pk)

    back = {
        t.destination_id: list(t.lines.values_list("variant_id", "quantity"))
        for t in Transfer.objects.filter(source=shop.locker)
    }
    assert back == {shop.store.pk: [(from_store.pk, 1)], shop.warehouse.pk: [(shop.book.pk, 2)]}


def test_a_collected_order_is_left_untouched(shop: Shop) -> None:
    order = ready_in_store(shop)
    order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))
    ended(order)

    assert order_ids_hold_ended() == []
    assert order_hold_end(order_id=order.pk) is False

    assert refreshed(order).status == OrderStatus.PICKED_UP
    assert owed_back(order) == 0
    assert level(shop.store, shop.shirt) == (4, 0)


def test_a_hold_not_yet_ended_is_left_alone(shop: Shop) -> None:
    order = ends_in(ready_in_store(shop), timedelta(minutes=5))

    assert order_ids_hold_ended() == []
    assert order_hold_end(order_id=order.pk) is False
    assert refreshed(order).status == OrderStatus.READY


def test_ending_a_hold_twice_is_harmless(shop: Shop) -> None:
    order = ended(ready_in_store(shop))

    assert order_hold_end(order_id=order.pk) is True
    assert order_hold_end(order_id=order.pk) is False

    assert OrderStatusChange.objects.filter(order=order, event=OrderEvent.CANCELLED).count() == 1
    assert level(shop.store, shop.shirt) == (5, 0)


def test_an_order_gone_before_its_task_runs_is_left_alone(shop: Shop) -> None:
    missing = (Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000

    assert order_hold_end(order_id=missing) is False
    assert order_hold_remind(order_id=missing) is False


def test_an_unpaid_pay_at_pickup_order_is_left_to_the_expiry_sweeper(shop: Shop) -> None:
    order = ready_unpaid_in_store(shop)
    Order.objects.filter(pk=order.pk).update(
        hold_ends_at=timezone.now() - timedelta(minutes=1), payment_due_by=timezone.now() - timedelta(minutes=1)
    )

    assert order_ids_hold_ended() == []
    assert order_hold_end(order_id=order.pk) is False
    assert order_ids_payment_overdue() == [order.pk]
    assert order_expire(order_id=order.pk) is True
    assert refreshed(order).cancel_reason == "Not paid in time"


def test_a_pay_at_pickup_order_paid_at_the_till_but_left_ends_at_its_deadline(shop: Shop) -> None:
    order = ready_unpaid_in_store(shop)
    order = pay(shop, order, method="cash", actor=shop.store_actor)
    assert (order.status, order.hold_ends_at) == (OrderStatus.READY, order.payment_due_by)
    ended(order)

    assert order_ids_hold_ended() == [order.pk]
    assert order_hold_end(order_id=order.pk) is True
    assert owed_back(order) == order.total


def test_a_customer_who_comes_late_before_the_hold_is_ended_is_served(shop: Shop) -> None:
    order = ended(ready_in_store(shop))

    order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    assert order_hold_end(order_id=order.pk) is False
    assert refreshed(order).status == OrderStatus.PICKED_UP


def test_a_hand_over_after_the_hold_ended_is_refused_and_changes_nothing(shop: Shop) -> None:
    order = ended(ready_in_store(shop))
    order_hold_end(order_id=order.pk)

    with pytest.raises(OrderStateError):
        order_hand_over(order=order, actor=shop.store_actor, code=code_of(order))

    assert refreshed(order).status == OrderStatus.CANCELLED
    assert level(shop.store, shop.shirt) == (5, 0)


def test_a_cancelled_order_has_no_hold_to_end(shop: Shop) -> None:
    order = order_cancel(order=ready_in_store(shop), actor=shop.store_actor)
    ended(order)

    assert order_ids_hold_ended() == []
    assert order_hold_end(order_id=order.pk) is False


# --- The sweeper -------------------------------------------------------------------------------


def test_the_sweeper_enqueues_one_task_per_reminder_due_and_per_hold_ended_after_commit(
    shop: Shop, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    to_remind = ends_in(ready_in_store(shop), timedelta(hours=2))
    to_end = ended(ready_in_store(shop))
    ends_in(ready_in_store(shop), timedelta(days=5))  # neither

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert orders_holds_sweep() == 2
    assert len(callbacks) == 2
    assert refreshed(to_end).status == OrderStatus.READY  # nothing done before the commit

    for callback in callbacks:  # the commit (a second sweep now would skip the hold end just handed over)
        callback()

    assert refreshed(to_remind).hold_reminded_at is not None
    assert refreshed(to_end).status == OrderStatus.CANCELLED


def test_a_hold_end_handed_over_is_not_handed_over_again_until_its_retry_time_and_then_after_the_others(
    shop: Shop, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    failing = ended(ready_in_store(shop))
    with django_capture_on_commit_callbacks(execute=False):  # its task fails: the order stays ready
        assert orders_holds_sweep() == 1
    assert refreshed(failing).hold_end_attempted_at is not None

    with django_capture_on_commit_callbacks(execute=False):
        assert orders_holds_sweep() == 0  # not every five minutes: its task retries meanwhile

    Order.objects.filter(pk=failing.pk).update(hold_end_attempted_at=timezone.now() - HOLD_END_RETRY_AFTER)
    fresh = ends_in(ready_in_store(shop), -timedelta(minutes=1))
    Order.objects.filter(pk=failing.pk).update(hold_ends_at=timezone.now() - timedelta(days=2))
    assert order_ids_hold_ended() == [fresh.pk, failing.pk]  # tried before: after those never tried


def test_a_failing_hold_end_task_retries_with_backoff_a_few_times() -> None:
    options = {name: getattr(tasks.order_hold_end, name) for name in ("autoretry_for", "max_retries", "retry_backoff")}
    assert options == {"autoretry_for": (Exception,), "max_retries": 5, "retry_backoff": 60}


def test_the_selectors_take_the_soonest_first_up_to_the_limit(shop: Shop) -> None:
    orders = [ready_in_store(shop) for _ in range(3)]
    for minutes, order in zip((10, 30, 20), orders, strict=True):
        ends_in(order, -timedelta(minutes=minutes))
    assert order_ids_hold_ended(limit=2) == [orders[1].pk, orders[2].pk]

    for minutes, order in zip((10, 30, 20), orders, strict=True):
        ends_in(order, timedelta(minutes=minutes))
    assert order_ids_hold_reminder_due(limit=2) == [orders[0].pk, orders[2].pk]


def test_the_sweep_selectors_take_one_query_however_many_are_due(
    shop: Shop, django_assert_num_queries: Callable[..., Any]
) -> None:
    ended(ready_in_store(shop))
    ends_in(ready_in_store(shop), timedelta(hours=1))
    with django_assert_num_queries(1):
        assert len(order_ids_hold_ended()) == 1
    with django_assert_num_queries(1):
        assert len(order_ids_hold_reminder_due()) == 1

    variant = store_only_variant(shop)
    stock_receive_for(shop.store, variant, 10)
    for _ in range(4):
        ended(ready_in_store(shop, lines=[(variant, 1)]))
        ends_in(ready_in_store(shop, lines=[(variant, 1)]), timedelta(hours=1))
    with django_assert_num_queries(1):
        assert len(order_ids_hold_ended()) == 5
    with django_assert_num_queries(1):
        assert len(order_ids_hold_reminder_due()) == 5


def test_ending_a_hold_costs_no_more_queries_for_more_lines(
    shop: Shop, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    small = ended(ready_in_store(shop))
    with django_assert_max_num_queries(60) as one_line:
        order_hold_end(order_id=small.pk)
    variants = [VariantFactory.create(price=Decimal("1.00")) for _ in range(5)]
    for variant in variants:
        stock_receive_for(shop.store, variant, 2)
    large = ended(ready_in_store(shop, lines=[(variant, 1) for variant in variants]))
    with django_assert_max_num_queries(len(one_line.captured_queries)):
        order_hold_end(order_id=large.pk)


# --- Admin -------------------------------------------------------------------------------------


def test_the_order_page_shows_until_when_it_is_held_and_when_it_was_reminded(admin_client: Client, shop: Shop) -> None:
    order = ends_in(ready_in_store(shop), timedelta(hours=2))
    order_hold_remind(order_id=order.pk)

    page = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert "Held until" in page
    assert "Hold reminder sent at" in page
    assert "Reminded: the hold ends soon" in page


def test_the_pickups_counter_flags_holds_ending_soon(admin_client: Client, shop: Shop) -> None:
    soon = ends_in(ready_in_store(shop), timedelta(hours=2))
    later = ends_in(ready_in_store(shop), timedelta(days=5))

    html = admin_client.get(reverse("admin:orders_order_pickups")).content.decode()

    soon_row = html[html.index(f'data-order="{soon.number}"') :].split("</tr>")[0]
    later_row = html[html.index(f'data-order="{later.number}"') :].split("</tr>")[0]
    assert "hold ending soon" in soon_row
    assert "Held until" in later_row
    assert "hold ending soon" not in later_row


# --- Races (real threads, PostgreSQL) ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_hold_end_racing_the_hand_over_one_wins_and_the_stock_adds_up(shop: Shop) -> None:
    orders = [ended(ready_in_store(shop)) for _ in range(4)]
    calls: list[Callable[[], Any]] = []
    for order in orders:
        calls.append(partial(order_hold_end, order_id=order.pk))
        calls.append(partial(order_hand_over, order=order, actor=shop.store_actor, code=code_of(order)))

    results = run_at_once(calls)

    assert [error for error in raised(results) if not isinstance(error, OrderStateError)] == []
    picked_up = 0
    for i, order in enumerate(Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("pk")):
        ended_it, handed = results[2 * i], results[2 * i + 1]
        if ended_it is True:
            assert isinstance(handed, OrderStateError)
            assert (order.status, owed_back(order)) == (OrderStatus.CANCELLED, order.total)
        else:
            assert ended_it is False
            assert isinstance(handed, Order)
            assert (order.status, owed_back(order)) == (OrderStatus.PICKED_UP, 0)
            picked_up += 1
    assert level(shop.store, shop.shirt) == (5 - picked_up, 0)


@pytest.mark.django_db(transaction=True)
def test_the_hold_end_racing_the_locker_redemption_one_wins(shop: Shop) -> None:
    variant = store_only_variant(shop)
    orders = [ended(ready_in_locker(shop, variant)) for _ in range(3)]
    calls: list[Callable[[], Any]] = []
    for order in orders:
        calls.append(partial(order_hold_end, order_id=order.pk))
        calls.append(
            partial(order_pickup_redeem, code=code_of(order), location_code=shop.locker.code, actor=shop.locker_actor)
        )

    results = run_at_once(calls)

    assert [error for error in raised(results) if not isinstance(error, OrderStateError | PickupCodeUsed)] == []
    redeemed = 0
    for i, order in enumerate(Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("pk")):
        ended_it, redeemed_it = results[2 * i], results[2 * i + 1]
        assert (ended_it is True) != isinstance(redeemed_it, Order)
        assert order.status == (OrderStatus.CANCELLED if ended_it is True else OrderStatus.PICKED_UP)
        redeemed += ended_it is not True
    sent_back = Transfer.objects.filter(source=shop.locker).count()
    assert sent_back == 3 - redeemed
    # Units sent back wait in the locker for the courier; units redeemed left with the customer.
    assert level(shop.locker, variant) == (sent_back, sent_back)
