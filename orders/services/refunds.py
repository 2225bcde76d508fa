"""Refunds: money goes back the way it came, one refund row per capture it gives back.

Cancelling gives everything back (`order_refund_all`); a return will give back a part. Both
go the same three steps, each a plain function run in the caller's transaction:

1. plan (`order_refunds_plan`): what each capture can still give back, in the order they
   were taken; a caller refunding a part gives back less of some (`RefundLine`);
2. record (`order_refunds_record`): one refund row per line, each method its own way:
   - card, PayPal and store card (a payment provider moved the money), cash and card at the
     till: the channel that took the money gives it back, told by step 3;
   - store credit: back on the customer's store-credit account, at once;
   - loyalty points: the row says how many points go back; the points themselves come back
     through loyalty (`loyalty_reverse` when the whole order is undone), so a points capture
     is given back whole or not at all;
   Lines are checked against the plan under the order's lock first: nothing is written for
   lines that give back nothing, more than a capture has left, or part of a points capture;
3. hand over (`order_refunds_hand_over`): the channel's integration is told what to give
   back through its provider (an `order.refund` webhook, through the outbox).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from config.outbox import webhook_enqueue
from config.selectors import webhook_subscriptions_active
from customers.services.loyalty import loyalty_reverse
from customers.services.store_credit import store_credit_grant
from orders.exceptions import OrderErrorCode, OrderInputError, OrderStateError
from orders.models import Order, Payment, PaymentKind, PaymentMethod
from orders.services.common import Actor, order_locked
from orders.services.payments import BALANCE_METHODS

REFUND_EVENT = "order.refund"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class RefundLine:
    """What one capture gives back: an amount and, for loyalty points, how many points."""

    capture: Payment
    amount: Decimal
    points: int | None = None


def order_refunds_plan(*, order: Order) -> list[RefundLine]:
    """What each capture of the order can still give back (less what earlier refunds gave back)."""
    refunded = {
        row["refund_of"]: (row["amount"], row["points"] or 0)
        for row in order.payments.filter(kind=PaymentKind.REFUND)
        .values("refund_of")
        .annotate(amount=Sum("amount"), points=Sum("points"))
    }
    lines = []
    for capture in order.payments.filter(kind=PaymentKind.CAPTURE):
        amount, points = refunded.get(capture.pk, (Decimal(0), 0))
        if capture.amount - amount <= 0:
            continue
        lines.append(
            RefundLine(
                capture=capture,
                amount=capture.amount - amount,
                points=capture.points - points if capture.points is not None else None,
            )
        )
    return lines


def order_refunds_record(*, order: Order, lines: list[RefundLine], actor: Actor) -> list[Payment]:
    """One refund row per line, checked first against what each capture can still give back.

    Runs in the caller's transaction; the order is locked so two refunds at once cannot both
    give back the same money. 400 `invalid_refund` for an amount not above zero (or finer than
    a cent, or points on a capture not paid with points), 409 `refund_exceeds_paid` for more
    than a capture has left, 400 `partial_points_refund` for part of a points capture (points
    come back only through `loyalty_reverse`, for the whole order). Nothing is written then.
    """
    order = order_locked(order)
    _lines_check(lines, plan=order_refunds_plan(order=order))
    return _refunds_create(order=order, lines=lines, actor=actor)


def _lines_check(lines: list[RefundLine], *, plan: list[RefundLine]) -> None:
    left = {line.capture.pk: line for line in plan}
    asked: dict[int, Decimal] = {}
    for line in lines:
        if line.amount <= 0 or line.amount != line.amount.quantize(CENT):
            raise OrderInputError(
                _("A refund must give back more than zero, in whole cents."),
                code=OrderErrorCode.INVALID_REFUND,
                fields={"amount": [_("More than zero, in whole cents.")]},
            )
        available = left.get(line.capture.pk)
        asked[line.capture.pk] = asked.get(line.capture.pk, Decimal(0)) + line.amount
        if available is None or asked[line.capture.pk] > available.amount:
            raise OrderStateError(
                _("That is more than this payment can still give back."),
                code=OrderErrorCode.REFUND_EXCEEDS_PAID,
                extra={
                    "payment": line.capture.pk,
                    "available": str(available.amount if available else Decimal("0.00")),
                },
            )
        if line.capture.method != PaymentMethod.LOYALTY_POINTS:
            if line.points is not None:
                raise OrderInputError(
                    _("Only a payment made with points gives back points."),
                    code=OrderErrorCode.INVALID_REFUND,
                    fields={"points": [_("Not allowed for this payment.")]},
                )
        elif (line.amount, line.points) != (available.amount, available.points):
            raise OrderInputError(
                _("Loyalty points are given back only in full, with the whole order."),
                code=OrderErrorCode.PARTIAL_POINTS_REFUND,
                extra={"payment": line.capture.pk, "points": available.points},
            )


def _refunds_create(*, order: Order, lines: list[RefundLine], actor: Actor) -> list[Payment]:
    refunds = []
    for line in lines:
        capture = line.capture
        if capture.method == PaymentMethod.STORE_CREDIT:
            store_credit_grant(
                customer=order.customer,
                amount=line.amount,
                reference=order.number,
                reason="refund",
                channel=actor.channel,
                currency=order.currency,
            )
        refunds.append(
            Payment.objects.create(
                order=order,
                kind=PaymentKind.REFUND,
                method=capture.method,
                amount=line.amount,
                points=line.points,
                refund_of=capture,
                provider_reference=capture.provider_reference,
                channel=actor.channel,
                client=actor.client,
                user=actor.staff_user,
            )
        )
    return refunds


def order_refunds_hand_over(*, order: Order, refunds: list[Payment]) -> None:
    """The channel that took the money gives it back through its provider; it is told by webhook.

    Store credit and points are the customer's balances, given back here already: not told.
    """
    handed = [refund for refund in refunds if refund.method not in BALANCE_METHODS]
    if not handed or order.client_id is None:
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
                    {"method": r.method, "amount": r.amount, "provider_reference": r.provider_reference} for r in handed
                ],
                "currency": order.currency,
            },
            subscription=subscription,
        )


def order_refund_all(*, order: Order, actor: Actor, reason: str) -> Decimal:
    """Everything paid goes back (a cancellation): every capture, and the order's points.

    Redeemed points come back and earned ones are taken back, as far as the balance allows
    (`loyalty_reverse`). Returns the amount given back. The caller holds the order's lock
    (`order_locked`): the plan read here is what is left, no check needed.
    """
    refunds = _refunds_create(order=order, lines=order_refunds_plan(order=order), actor=actor)
    loyalty_reverse(reference=order.number, reason=reason, channel=actor.channel)
    order_refunds_hand_over(order=order, refunds=refunds)
    return sum((refund.amount for refund in refunds), Decimal(0))
