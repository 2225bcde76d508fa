"""Cancelling before the goods leave: stock back on sale, money owed back (orders.services.refunds:
store credit and points at once, the rest pending until whoever took it confirms), a credit note if
invoiced.

Unpaid orders past their payment deadline are cancelled the same way by the expiry sweeper.
"""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from config.transactions import use_case
from customers.models import EventKind
from inventory.locks import stock_levels_lock, transfers_lock
from inventory.models import TransferStatus
from inventory.services import StockLine, stock_release, transfer_cancel
from invoicing.services import invoice_credit
from orders.models import FulfilmentType, NotificationKind, Order, OrderEvent, OrderStatus, PaymentMode
from orders.services.access import order_check_cancels
from orders.services.common import (
    Actor,
    order_history_add,
    order_locked,
    order_locked_by_id,
    order_system_actor,
    order_timeline_add,
)
from orders.services.notifications import order_notification_due
from orders.services.parcels import order_parcels_discard, order_units_cancelled
from orders.services.refunds import order_refund_all


def _release_stock(order: Order, *, actor: Actor) -> None:
    """Give back every reservation the order holds, wherever its units are now."""
    lines = list(order.lines.select_related("source", "variant"))
    # Transfers not yet shipped are called off. Locked first, as inventory locks them (a transfer,
    # then its stock), so their status is current. On its way or received unsettled, a transfer is
    # left alone: its units simply become the destination's stock (never reserved there).
    waiting = {line.transfer_id for line in lines if line.transfer_id is not None and line.arrived_at is None}
    transfers = transfers_lock(ids=waiting, status=TransferStatus.REQUESTED)
    releases: list[StockLine] = []
    cancelled = order_units_cancelled(order) if order.fulfilment_type == FulfilmentType.SHIP else {}
    for line in lines:
        if line.transfer_id is None:
            units = line.quantity - cancelled.get(line.pk, 0)  # a cancelled parcel's units went back already
            if units > 0:
                releases.append(StockLine(location=line.source, variant=line.variant, quantity=units))
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


def cancellation_apply(order: Order, *, actor: Actor, reason: str) -> Order:
    """Cancel the locked order. The customer is told (`NotificationKind.CANCELLED`: why, and what is
    given back) unless she asked through her own channel, whose integration answers her itself:
    staff cancelling, the expiry and a hold's end all tell her."""
    order_parcels_discard(order)  # refused once a parcel has left: its units are sold
    _release_stock(order, actor=actor)
    # Owed back: the balances' refunds succeeded (refunded_amount grew), the others are pending.
    # The refunds give the cancellation's own reason, translated when written as the history's
    # note is (an expiry's "Not paid in time", a hold's "Not collected in time", staff's words).
    refund_reason = reason or _("Order cancelled")
    refunds = order_refund_all(order=order, actor=actor, reason=refund_reason) if order.paid_amount else []
    refunded = sum((refund.amount for refund in refunds), Decimal(0))
    if order.invoice_id is not None:
        order.credit_note = invoice_credit.step(  # in the cancellation's transaction
            invoice=order.invoice,  # type: ignore[arg-type]
            reason=refund_reason,
            # For the client the order belongs to, as its invoice: whoever cancels, reach stays put.
            issued_by=order.client,
            source_reference=order.number,
            # A ticket exchanged for a full invoice is credited through that invoice.
            follow_exchange=True,
        )
    order.status_move(OrderStatus.CANCELLED)
    order.cancelled_at, order.cancel_reason = timezone.now(), reason[:200]
    order.payment_due_by = None
    order.save(
        update_fields=["status", "cancelled_at", "cancel_reason", "refunded_amount", "credit_note", "payment_due_by"]
    )
    order_history_add(order, event=OrderEvent.CANCELLED, actor=actor, note=reason)
    if actor.client is None:
        order_notification_due(order, kind=NotificationKind.CANCELLED)
    order_timeline_add(order, kind=EventKind.ORDER_CANCELLED, actor=actor, reason=reason, refunded=str(refunded))
    return order


@use_case
def order_cancel(*, order: Order, actor: Actor, reason: str = "") -> Order:
    """Cancel before shipment or hand-over; 409 once the goods have left. Who may: `order_check_cancels`."""
    order = order_locked(order)
    order_check_cancels(order, actor=actor)
    order.status_move_check(OrderStatus.CANCELLED)
    return cancellation_apply(order, actor=actor, reason=(reason or "").strip())


@use_case
def order_expire(*, order_id: int) -> bool:
    """Cancel an order still unpaid after its deadline; False if it was paid (or cancelled) meanwhile."""
    order = order_locked_by_id(order_id)
    if order is None:
        return False
    due = order.payment_due_by is not None and order.payment_due_by <= timezone.now()
    waits_for_pickup = order.payment_mode == PaymentMode.AT_PICKUP and order.status != OrderStatus.READY
    if not order.can_move_to(OrderStatus.CANCELLED) or order.is_paid or not due or waits_for_pickup:
        return False
    cancellation_apply(order, actor=order_system_actor(order), reason=_("Not paid in time"))
    return True
