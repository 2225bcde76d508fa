"""Cancelling before the goods leave: stock back on sale, money back, a credit note if invoiced.

Unpaid orders past their payment deadline are cancelled the same way by the expiry sweeper.
"""

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config.channels import Channel
from config.outbox import webhook_enqueue
from config.selectors import webhook_subscriptions_active
from config.transactions import use_case
from customers.models import EventKind
from customers.services.loyalty import loyalty_reverse
from customers.services.store_credit import store_credit_grant
from inventory.locks import stock_levels_lock, transfers_lock
from inventory.models import TransferStatus
from inventory.services import StockLine, stock_release, transfer_cancel
from invoicing.services import invoice_credit
from orders.models import Order, OrderEvent, OrderStatus, Payment, PaymentKind, PaymentMethod, PaymentMode
from orders.services.access import order_check_cancels
from orders.services.common import (
    Actor,
    order_history_add,
    order_locked,
    order_timeline_add,
)

REFUND_EVENT = "order.refund"


def _release_stock(order: Order, *, actor: Actor) -> None:
    """Give back every reservation the order holds, wherever its units are now."""
    lines = list(order.lines.select_related("source", "variant"))
    # Transfers not yet shipped are called off. Locked first, as inventory locks them (a transfer,
    # then its stock), so their status is current. On its way or received unsettled, a transfer is
    # left alone: its units simply become the destination's stock (never reserved there).
    waiting = {line.transfer_id for line in lines if line.transfer_id is not None and line.arrived_at is None}
    transfers = transfers_lock(ids=waiting, status=TransferStatus.REQUESTED)
    releases: list[StockLine] = []
    for line in lines:
        if line.transfer_id is None:
            releases.append(StockLine(location=line.source, variant=line.variant, quantity=line.quantity))
        elif line.arrived_at is not None:
            releases.append(StockLine(location=order.pickup_location, variant=line.variant, quantity=line.quantity))  # type: ignore[arg-type]
    if len(transfers) + bool(releases) > 1:  # several inventory calls: every row first, in one order
        called_off = {transfer.pk for transfer in transfers}
        stock_levels_lock(
            keys=[(release.location.pk, release.variant.pk) for release in releases]
            + [(line.source_id, line.variant_id) for line in lines if line.transfer_id in called_off]
        )
    if releases:
        stock_release(lines=releases, reference=order.number, channel=actor.channel)
    for transfer in transfers:
        transfer_cancel.step(transfer=transfer)


def _refund(order: Order, *, actor: Actor) -> Decimal:
    """Every capture goes back the way it came; provider refunds are handed to the channel's integration."""
    captures = list(order.payments.filter(kind=PaymentKind.CAPTURE))
    refunded = {
        row["refund_of"]: row["total"]
        for row in order.payments.filter(kind=PaymentKind.REFUND).values("refund_of").annotate(total=Sum("amount"))
    }
    total = Decimal(0)
    provider_refunds = []
    for capture in captures:
        amount = capture.amount - refunded.get(capture.pk, Decimal(0))
        if amount <= 0:
            continue
        if capture.method == PaymentMethod.STORE_CREDIT:
            store_credit_grant(
                customer=order.customer,
                amount=amount,
                reference=order.number,
                reason="refund",
                channel=actor.channel,
                currency=order.currency,
            )
        refund = Payment.objects.create(
            order=order,
            kind=PaymentKind.REFUND,
            method=capture.method,
            amount=amount,
            points=capture.points,
            refund_of=capture,
            provider_reference=capture.provider_reference,
            channel=actor.channel,
            client=actor.client,
            user=actor.staff_user,
        )
        if capture.method not in (PaymentMethod.STORE_CREDIT, PaymentMethod.LOYALTY_POINTS):
            provider_refunds.append(refund)
        total += amount
    # Redeemed points come back and earned ones are taken back (as far as the balance allows).
    loyalty_reverse(reference=order.number, reason="order cancelled", channel=actor.channel)
    _refunds_hand_over(order, provider_refunds)
    return total


def _refunds_hand_over(order: Order, refunds: list[Payment]) -> None:
    """The channel that took the money gives it back through its provider; it is told by webhook."""
    if not refunds or order.client_id is None:
        return
    for subscription in webhook_subscriptions_active(event=REFUND_EVENT).filter(client_id=order.client_id):
        webhook_enqueue(
            target_url=subscription.url,
            secret=subscription.secret,
            event=REFUND_EVENT,
            body={
                "event": REFUND_EVENT,
                "order": order.number,
                "refunds": [
                    {"method": r.method, "amount": r.amount, "provider_reference": r.provider_reference}
                    for r in refunds
                ],
                "currency": order.currency,
            },
            subscription=subscription,
        )


def _cancel(order: Order, *, actor: Actor, reason: str) -> Order:
    _release_stock(order, actor=actor)
    refunded = _refund(order, actor=actor) if order.paid_amount else Decimal(0)
    if order.invoice_id is not None:
        order.credit_note = invoice_credit.step(  # in the cancellation's transaction
            invoice=order.invoice,  # type: ignore[arg-type]
            reason=reason or _("Order cancelled"),
            # For the client the order belongs to, as its invoice: whoever cancels, reach stays put.
            issued_by=order.client,
            source_reference=order.number,
        )
    order.status_move(OrderStatus.CANCELLED)
    order.cancelled_at, order.cancel_reason = timezone.now(), reason[:200]
    order.refunded_amount = order.refunded_amount + refunded
    order.payment_due_by = None
    order.save(
        update_fields=["status", "cancelled_at", "cancel_reason", "refunded_amount", "credit_note", "payment_due_by"]
    )
    order_history_add(order, event=OrderEvent.CANCELLED, actor=actor, note=reason)
    order_timeline_add(order, kind=EventKind.ORDER_CANCELLED, actor=actor, reason=reason, refunded=str(refunded))
    return order


@use_case
def order_cancel(*, order: Order, actor: Actor, reason: str = "") -> Order:
    """Cancel before shipment or hand-over; 409 once the goods have left. Who may: `order_check_cancels`."""
    order = order_locked(order)
    order_check_cancels(order, actor=actor)
    order.status_move_check(OrderStatus.CANCELLED)
    return _cancel(order, actor=actor, reason=(reason or "").strip())


@use_case
def order_expire(*, order_id: int) -> bool:
    """Cancel an order still unpaid after its deadline; False if it was paid (or cancelled) meanwhile."""
    if not Order.objects.filter(pk=order_id).exists():
        return False
    order = order_locked(Order(pk=order_id))
    due = order.payment_due_by is not None and order.payment_due_by <= timezone.now()
    waits_for_pickup = order.payment_mode == PaymentMode.AT_PICKUP and order.status != OrderStatus.READY
    if not order.can_move_to(OrderStatus.CANCELLED) or order.is_paid or not due or waits_for_pickup:
        return False
    _cancel(order, actor=Actor(channel=order.channel or Channel.WEB), reason=_("Not paid in time"))
    return True
