"""Cancelling one parcel that has not left: the rest of the order goes on (`parcel_cancel`).

Once a parcel has left the order can no longer be cancelled whole (orders.services.parcels, rule
6); a parcel still pending can be, by whoever may cancel the order (`order_check_cancels`):

1. its units go back on sale at its source (the reservations are released there);
2. its lines' money is owed back, as a partial refund (`order_refunds_record`, in the order the
   captures were taken: store credit at once, a provider's or the till's money pending until
   confirmed, handed over as an `order.refund` webhook). Loyalty points are given back only
   whole (with the order), so a points payment is left out of a parcel's refund; the points the
   order earned are taken back in the share its goods bore (`loyalty_earning_share_reverse`);
3. a credit note is issued for its lines (`invoice_credit` with those lines) when invoiced;
4. the parcel is recorded as cancelled (its lines stay, as the record of what it held);
5. the order moves on: when nothing is left to ship and a parcel left, it is shipped (and
   delivered when every parcel that left is); when every parcel is cancelled, the order is
   cancelled as `order_cancel` cancels it: what is left of the money, the delivery charge
   included, is refunded, the points reversed, the rest of the invoice credited.

The delivery charge is refunded only when nothing of the order ships (the order is cancelled
whole); a parcel cancelled while another ships or shipped gives back its lines only.

409 `parcel_state` for a parcel that left or was cancelled; 404 `parcel_not_found`; 403 for a
caller that may not cancel the order. The order is locked first: cancelling and shipping the same
parcel at once, one wins and the other is refused.
"""

from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext as _

from config.transactions import use_case
from customers.services.loyalty import loyalty_earning_share_reverse
from inventory.services import StockLine, stock_release
from invoicing.models import Invoice
from invoicing.services import CreditLine, invoice_credit
from orders.models import (
    FulfilmentType,
    Order,
    OrderEvent,
    OrderStatus,
    Parcel,
    ParcelLine,
    ParcelStatus,
    PaymentMethod,
)
from orders.services.access import order_check_cancels
from orders.services.cancelling import cancellation_apply
from orders.services.common import Actor, order_history_add, order_locked
from orders.services.fulfilment import fulfilment_require
from orders.services.parcels import (
    order_delivered_mark,
    order_parcels_plan,
    order_shipped_when_all_left,
    parcel_of,
)
from orders.services.refunds import RefundLine, order_refunds_hand_over, order_refunds_plan, order_refunds_record


def _refund_lines(order: Order, amount: Decimal) -> list[RefundLine]:
    """`amount` from the captures in the order they were taken (never part of a points payment)."""
    lines = []
    for available in order_refunds_plan(order=order):
        if amount <= 0:
            break
        if available.capture.method == PaymentMethod.LOYALTY_POINTS:
            continue
        part = min(amount, available.amount)
        lines.append(RefundLine(capture=available.capture, amount=part))
        amount -= part
    return lines


def _credit_lines(invoice: Invoice, rows: list[ParcelLine]) -> list[CreditLine]:
    """The invoice lines the parcel's units were billed on: one per variant and price (as invoiced)."""
    wanted: dict[tuple[str, Decimal, Decimal], int] = defaultdict(int)
    for row in rows:
        line = row.order_line
        wanted[(line.sku, line.regular_unit_price, line.tax_rate)] += row.quantity
    by_key = {
        (line.sku, line.unit_price, line.tax_rate): line.pk for line in invoice.lines.order_by("position") if line.sku
    }
    return [CreditLine(line_id=by_key[key], quantity=Decimal(units)) for key, units in wanted.items() if key in by_key]


def _credit(order: Order, rows: list[ParcelLine], *, reason: str) -> Invoice | None:
    invoice = order.invoice
    if invoice is None:
        return None
    # A ticket exchanged for a full invoice is credited through that invoice.
    invoice = Invoice.objects.filter(replaces=invoice).first() or invoice
    lines = _credit_lines(invoice, rows)
    if not lines:
        return None
    return invoice_credit.step(
        invoice=invoice, lines=lines, reason=reason, issued_by=order.client, source_reference=order.number
    )


def _parcel_cancelled(order: Order, parcel: Parcel, rows: list[ParcelLine], *, actor: Actor, reason: str) -> None:
    """The parcel's units back on sale at its source, the parcel recorded as cancelled."""
    parcel.status_move(ParcelStatus.CANCELLED)
    stock_release(
        lines=[
            StockLine(location=parcel.source, variant=row.order_line.variant, quantity=row.quantity) for row in rows
        ],
        reference=order.number,
        channel=actor.channel,
    )
    parcel.save(update_fields=["status"])
    note = f"{parcel.position}: {parcel.source.code}"
    order_history_add(
        order, event=OrderEvent.PARCEL_CANCELLED, actor=actor, note=f"{note} · {reason}" if reason else note
    )


@use_case
def parcel_cancel(*, order: Order, position: int, actor: Actor, reason: str = "") -> Parcel:
    """A parcel that has not left is cancelled: its stock, its money and its invoice lines given back."""
    reason = (reason or "").strip()[:200]
    order = order_locked(order)
    fulfilment_require(order, FulfilmentType.SHIP)
    order_check_cancels(order, actor=actor)
    order_parcels_plan(order)  # an order paid before parcels existed
    parcel = parcel_of(order, position)
    parcel.status_move_check(ParcelStatus.CANCELLED)  # 409 for a parcel that left or was cancelled
    rows = list(parcel.lines.select_related("order_line__variant"))
    _parcel_cancelled(order, parcel, rows, actor=actor, reason=reason)
    parcels = list(order.parcels.order_by("position"))
    if all(other.status == ParcelStatus.CANCELLED for other in parcels):
        # Nothing of the order ships: cancelled whole, as order_cancel does (its stock is back already).
        cancellation_apply(order, actor=actor, reason=reason or _("Every parcel cancelled"))
        return parcel
    money = sum((row.order_line.unit_price * row.quantity for row in rows), Decimal(0))
    why = reason or _("Parcel %(position)s cancelled") % {"position": parcel.position}
    if order.paid_amount and money > 0:
        refunds = order_refunds_record(order=order, lines=_refund_lines(order, money), actor=actor, reason=why)
        order_refunds_hand_over(order=order, refunds=refunds)
        # Points reward the goods (not delivery): those not sold any more give theirs back.
        goods = order.total - order.delivery_charge
        if goods > 0:
            loyalty_earning_share_reverse(
                customer=order.customer, source=order.number, share=money / goods, reason=why, channel=actor.channel
            )
    _credit(order, rows, reason=why)
    if not any(other.status == ParcelStatus.PENDING for other in parcels):
        order_shipped_when_all_left(order, actor=actor)
        delivered = all(other.status in (ParcelStatus.DELIVERED, ParcelStatus.CANCELLED) for other in parcels)
        if order.status == OrderStatus.SHIPPED and delivered:
            order_delivered_mark(order, actor=actor)
    return parcel
