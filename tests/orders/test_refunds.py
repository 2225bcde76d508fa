"""orders.services.refunds: money goes back the way it came, one refund row per capture.

Planned per capture (what it can still give back: less what pending or succeeded refunds owe),
recorded each method its own way (store credit on the customer's account and points succeed at
once, the rest is pending, owed by whoever took it), and handed over to the integration that
took the money by webhook, one per refund. Cancelling gives everything back; a return will give
back a part with the same steps. Confirming, retrying and settling: test_refund_confirm.py.

Changed by issue 17 (refunds that happen): rows used to be `Payment` refunds written as done;
they are now `Refund` rows, pending until confirmed, and the ledger's refund rows are written
only for money that moved.
"""

from decimal import Decimal

import pytest
from django.db.models import QuerySet

from config.models import OutboxKind, OutboxMessage
from config.outbox import webhook_subscription_create
from customers.models import LoyaltyEntry
from customers.services import loyalty_adjust, store_credit_balance, store_credit_grant
from orders.exceptions import OrderInputError, OrderStateError
from orders.models import Order, Payment, PaymentKind, Refund
from orders.services import (
    RefundLine,
    order_payment_add,
    order_refund_all,
    order_refunds_hand_over,
    order_refunds_plan,
    order_refunds_record,
)
from tests.scenarios import Shop, pay, place


def paid_three_ways(shop: Shop) -> Order:
    """39.90: 5.00 of store credit, 400 points (4.00), the rest by card."""
    store_credit_grant(customer=shop.customer, amount=Decimal("5.00"), reference="gift", reason="gift")
    loyalty_adjust(customer=shop.customer, points=400, reason="welcome")
    order = place(shop, lines=[(shop.shirt, 2)])
    order = order_payment_add(order=order, actor=shop.web, method="store_credit", amount=Decimal("5.00"))
    order = order_payment_add(order=order, actor=shop.web, method="loyalty_points", points=400)
    return pay(shop, order, reference="ch_1")


def refund_webhooks() -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK, event="order.refund")


def subscribe(shop: Shop) -> None:
    assert shop.web.client is not None
    webhook_subscription_create(client=shop.web.client, event="order.refund", url="https://web.example.com/hooks")


# --- Plan ---


def test_the_plan_gives_back_each_capture_in_the_order_they_were_taken(shop: Shop) -> None:
    order = paid_three_ways(shop)

    plan = order_refunds_plan(order=order)

    assert [(line.capture.method, line.amount, line.points) for line in plan] == [
        ("store_credit", Decimal("5.00"), None),
        ("loyalty_points", Decimal("4.00"), 400),
        ("card", Decimal("30.90"), None),
    ]


def test_the_plan_leaves_out_what_was_given_back_already(shop: Shop) -> None:
    order = paid_three_ways(shop)
    card = Payment.objects.get(order=order, method="card")
    order_refunds_record(order=order, lines=[RefundLine(capture=card, amount=Decimal("10.90"))], actor=shop.web)

    plan = order_refunds_plan(order=order)

    assert [(line.capture.method, line.amount) for line in plan] == [
        ("store_credit", Decimal("5.00")),
        ("loyalty_points", Decimal("4.00")),
        ("card", Decimal("20.00")),
    ]


def test_an_order_without_payments_has_nothing_to_give_back(shop: Shop) -> None:
    assert order_refunds_plan(order=place(shop)) == []


# --- Record ---


def test_each_refund_row_points_at_its_capture_and_keeps_its_provider_reference(shop: Shop) -> None:
    order = paid_three_ways(shop)

    refunds = order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.store_actor)

    card = Payment.objects.get(order=order, kind=PaymentKind.CAPTURE, method="card")
    assert [(r.method, r.amount, r.points, r.status) for r in refunds] == [
        ("store_credit", Decimal("5.00"), None, "succeeded"),
        ("loyalty_points", Decimal("4.00"), 400, "succeeded"),
        ("card", Decimal("30.90"), None, "pending"),
    ]
    # The card's money is owed by the integration that reported its capture.
    assert (refunds[2].capture_id, refunds[2].client_id) == (card.pk, shop.web.client.pk)  # type: ignore[union-attr]
    assert {(r.channel, r.requested_by_client_id) for r in refunds} == {("store", shop.store_actor.client.pk)}  # type: ignore[union-attr]


def test_the_ledger_records_only_the_money_that_moved(shop: Shop) -> None:
    order = paid_three_ways(shop)

    order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.web)

    ledger = Payment.objects.filter(order=order, kind=PaymentKind.REFUND).order_by("id")
    assert [(p.method, p.amount, p.points) for p in ledger] == [
        ("store_credit", Decimal("5.00"), None),
        ("loyalty_points", Decimal("4.00"), 400),
    ]
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("9.00")
    assert [r.payment_id for r in Refund.objects.filter(order=order).order_by("id")] == [*(p.pk for p in ledger), None]


def test_a_pending_refund_is_not_planned_again(shop: Shop) -> None:
    order = pay(shop, place(shop), reference="ch_9")
    order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.web)

    assert order_refunds_plan(order=order) == []


def test_store_credit_goes_back_on_the_customers_account_at_once(shop: Shop) -> None:
    order = paid_three_ways(shop)
    assert store_credit_balance(customer=shop.customer) == Decimal(0)

    order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.web)

    assert store_credit_balance(customer=shop.customer) == Decimal("5.00")


def test_part_of_a_capture_can_be_given_back(shop: Shop) -> None:
    order = pay(shop, place(shop), reference="ch_2")
    card = Payment.objects.get(order=order, kind=PaymentKind.CAPTURE)

    refunds = order_refunds_record(
        order=order, lines=[RefundLine(capture=card, amount=Decimal("5.00"))], actor=shop.web
    )

    assert [(r.amount, r.capture_id) for r in refunds] == [(Decimal("5.00"), card.pk)]
    assert [line.amount for line in order_refunds_plan(order=order)] == [Decimal("14.95")]


def test_more_than_a_capture_has_left_is_refused_and_nothing_is_written(shop: Shop) -> None:
    order = pay(shop, place(shop), reference="ch_5")
    card = Payment.objects.get(order=order, kind=PaymentKind.CAPTURE)
    order_refunds_record(order=order, lines=[RefundLine(capture=card, amount=Decimal("15.00"))], actor=shop.web)
    payments, refunds = Payment.objects.count(), Refund.objects.count()

    with pytest.raises(OrderStateError) as refused:
        order_refunds_record(
            order=order,
            lines=[RefundLine(capture=card, amount=Decimal("4.00")), RefundLine(capture=card, amount=Decimal("1.00"))],
            actor=shop.web,
        )

    assert (refused.value.code, refused.value.status_code) == ("refund_exceeds_paid", 409)
    assert refused.value.extra == {"payment": card.pk, "available": "4.95"}
    assert (Payment.objects.count(), Refund.objects.count()) == (payments, refunds)


def test_a_capture_of_another_order_gives_back_nothing_here(shop: Shop) -> None:
    order = pay(shop, place(shop), reference="ch_6")
    other = Payment.objects.get(order=pay(shop, place(shop), reference="ch_7"), kind=PaymentKind.CAPTURE)

    with pytest.raises(OrderStateError) as refused:
        order_refunds_record(order=order, lines=[RefundLine(capture=other, amount=Decimal("1.00"))], actor=shop.web)

    assert refused.value.code == "refund_exceeds_paid"
    assert not Refund.objects.exists()
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()


@pytest.mark.parametrize("amount", [Decimal(0), Decimal("-5.00"), Decimal("0.001")])
def test_a_refund_of_nothing_or_less_is_refused(shop: Shop, amount: Decimal) -> None:
    store_credit_grant(customer=shop.customer, amount=Decimal("50.00"), reference="gift", reason="gift")
    order = order_payment_add(order=place(shop), actor=shop.web, method="store_credit", amount=Decimal("19.95"))
    capture = Payment.objects.get(order=order, kind=PaymentKind.CAPTURE)
    balance = store_credit_balance(customer=shop.customer)

    with pytest.raises(OrderInputError) as refused:
        order_refunds_record(order=order, lines=[RefundLine(capture=capture, amount=amount)], actor=shop.web)

    assert (refused.value.code, refused.value.status_code) == ("invalid_refund", 400)
    assert not Refund.objects.exists()
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()
    assert store_credit_balance(customer=shop.customer) == balance


def test_points_are_given_back_only_for_a_capture_paid_with_points(shop: Shop) -> None:
    order = pay(shop, place(shop), reference="ch_8")
    card = Payment.objects.get(order=order, kind=PaymentKind.CAPTURE)

    with pytest.raises(OrderInputError) as refused:
        order_refunds_record(
            order=order, lines=[RefundLine(capture=card, amount=Decimal("1.00"), points=100)], actor=shop.web
        )

    assert refused.value.code == "invalid_refund"
    assert not Refund.objects.exists()
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()


@pytest.mark.parametrize(("amount", "points"), [(Decimal("2.00"), 200), (Decimal("4.00"), 200), (Decimal("2.00"), 400)])
def test_part_of_a_points_capture_is_refused_as_its_points_would_not_come_back(
    shop: Shop, amount: Decimal, points: int
) -> None:
    order = paid_three_ways(shop)
    capture = Payment.objects.get(order=order, kind=PaymentKind.CAPTURE, method="loyalty_points")
    entries = LoyaltyEntry.objects.count()

    with pytest.raises(OrderInputError) as refused:
        order_refunds_record(
            order=order, lines=[RefundLine(capture=capture, amount=amount, points=points)], actor=shop.web
        )

    assert (refused.value.code, refused.value.status_code) == ("partial_points_refund", 400)
    assert refused.value.extra == {"payment": capture.pk, "points": 400}
    assert not Refund.objects.exists()
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()
    assert LoyaltyEntry.objects.count() == entries


# --- Hand over ---


def test_the_channel_that_took_the_money_is_told_what_to_give_back(shop: Shop) -> None:
    subscribe(shop)
    order = paid_three_ways(shop)
    refunds = order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.web)

    order_refunds_hand_over(order=order, refunds=refunds)

    message = refund_webhooks().get()
    assert (message.target, message.body["order"], message.body["currency"]) == (
        "https://web.example.com/hooks",
        order.number,
        "EUR",
    )
    # Store credit and points are given back here already: the channel gives back the card capture only,
    # and confirms it by the refund's id.
    card = refunds[2]
    assert message.body["refund"] == {
        "id": card.pk,
        "method": "card",
        "amount": "30.90",
        "capture_reference": "ch_1",
        "reason": "",
    }
    card.refresh_from_db()
    assert card.handed_over_at is not None


def test_nothing_is_handed_over_when_only_balances_were_given_back(shop: Shop) -> None:
    subscribe(shop)
    store_credit_grant(customer=shop.customer, amount=Decimal("50.00"), reference="gift", reason="gift")
    order = order_payment_add(order=place(shop), actor=shop.web, method="store_credit", amount=Decimal("19.95"))
    refunds = order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.web)

    order_refunds_hand_over(order=order, refunds=refunds)

    assert not refund_webhooks().exists()


def test_a_channel_not_subscribed_is_not_told_and_the_refund_stays_pending(shop: Shop) -> None:
    order = pay(shop, place(shop), reference="ch_3")
    refunds = order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.web)

    assert order_refunds_hand_over(order=order, refunds=refunds) == 0

    assert not refund_webhooks().exists()
    assert Refund.objects.get().status == "pending"


def test_another_channels_subscription_is_not_told(shop: Shop) -> None:
    assert shop.store_actor.client is not None
    webhook_subscription_create(client=shop.store_actor.client, event="order.refund", url="https://till.example.com/h")
    order = pay(shop, place(shop), reference="ch_10")
    refunds = order_refunds_record(order=order, lines=order_refunds_plan(order=order), actor=shop.web)

    order_refunds_hand_over(order=order, refunds=refunds)

    assert not refund_webhooks().exists()


# --- All of it ---


@pytest.mark.parametrize("refunded_before", [Decimal(0), Decimal("10.00")])
def test_refunding_all_gives_back_what_is_left_and_says_how_much(shop: Shop, refunded_before: Decimal) -> None:
    order = pay(shop, place(shop), reference="ch_4")
    if refunded_before:
        card = Payment.objects.get(order=order, kind=PaymentKind.CAPTURE)
        order_refunds_record(order=order, lines=[RefundLine(capture=card, amount=refunded_before)], actor=shop.web)

    refunds = order_refund_all(order=order, actor=shop.web, reason="order cancelled")

    assert [(r.amount, r.status, r.reason) for r in refunds] == [
        (Decimal("19.95") - refunded_before, "pending", "order cancelled")
    ]
    assert order_refunds_plan(order=order) == []
