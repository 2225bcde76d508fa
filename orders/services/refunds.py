"""Refunds: money owed back, one `Refund` row per capture it gives back, until it happens.

A refund is a row owed to the customer: pending, then succeeded or failed. Cancelling gives
everything back (`order_refund_all`); a return will give back a part. Both go the same steps,
each a plain function run in the caller's transaction:

1. plan (`order_refunds_plan`): what each capture can still give back, in the order they were
   taken: its amount less the refunds pending or succeeded (a failed one gave nothing back), so
   nothing is owed twice; a caller refunding a part gives back less of some (`RefundLine`);
2. record (`order_refunds_record`): one refund row per line, each method its own way:
   - store credit: back on the customer's store-credit account, succeeded at once;
   - loyalty points: succeeded at once; the points themselves come back through loyalty
     (`loyalty_reverse` when the whole order is undone), so a points capture is given back
     whole or not at all;
   - card, PayPal and store card (a payment provider moved the money): pending, owed by the
     integration that reported the capture (`Refund.client`), which confirms it (step 4);
   - cash and card at the till: pending until the till confirms it (a credential bound to the
     order's pickup location, or the one that took the money; staff working there);
   Lines are checked against the plan under the order's lock first: nothing is written for lines
   that give back nothing, more than a capture has left, or part of a points capture;
3. hand over (`order_refunds_hand_over`): each pending refund goes to its integration as an
   `order.refund` webhook carrying the refund's id, through the outbox. When nobody can
   confirm it (a capture staff recorded, a client without a subscription) it stays pending and
   staff see it in the admin (Refunds);
4. confirm (`refund_confirm`, a use case): the integration or the till says succeeded or failed,
   for the refund's amount. Idempotent: the same confirmation again answers the refund as it is;
   another amount (400 `refund_amount_mismatch`) or another outcome once settled (409
   `refund_settled`) changes nothing. The order's row, then the refund's, are locked: two
   confirmations at once are one.

Staff may hand a refund to its integration again (`refund_retry`: a pending one gets a new
webhook, a failed one a new pending refund for the same money, `retry_of`) or settle a pending
one by hand, succeeded or failed, with a reason (`refund_settle`); both are audited in the
order's history with the staff member. A refund already handed to a payment provider is settled
as succeeded only with the provider's refund reference: nobody writes it as paid on a guess, and
it is never paid twice by a hand settlement and a retry.

When a refund succeeds the money moved: the ledger gets its immutable refund row (`Payment` of
kind refund, pointing at the capture), `Order.refunded_amount` grows by the amount (so it is
always the sum of the ledger's refunds, never more than was paid), the order's history says so,
and the customer is told the money is on its way (`NotificationKind.REFUND`, one per refund,
through the customer's channel or e-mail, whoever placed the order).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config.outbox import webhook_enqueue
from config.selectors import webhook_subscriptions_active
from config.transactions import use_case
from customers.services.loyalty import loyalty_reverse
from customers.services.store_credit import store_credit_grant
from orders.exceptions import OrderErrorCode, OrderInputError, OrderStateError, RefundNotFound, RefundSettled
from orders.models import (
    NotificationKind,
    Order,
    OrderEvent,
    Payment,
    PaymentKind,
    PaymentMethod,
    Refund,
    RefundStatus,
)
from orders.services.access import refund_check_confirms, refund_check_settles
from orders.services.common import Actor, order_history_add, order_locked
from orders.services.notifications import order_notification_due
from orders.services.payments import BALANCE_METHODS

REFUND_EVENT = "order.refund"
CENT = Decimal("0.01")
# What a refund's outcome may be, once settled.
OUTCOMES = (RefundStatus.SUCCEEDED, RefundStatus.FAILED)
# What the refund's rows and the ledger owe: pending and succeeded refunds (a failed one gave nothing).
OWED = (RefundStatus.PENDING, RefundStatus.SUCCEEDED)


@dataclass(frozen=True)
class RefundLine:
    """What one capture gives back: an amount and, for loyalty points, how many points."""

    capture: Payment
    amount: Decimal
    points: int | None = None


def order_refunds_plan(*, order: Order) -> list[RefundLine]:
    """What each capture of the order can still give back (less what pending or succeeded refunds owe)."""
    owed = {
        row["capture"]: (row["amount"], row["points"] or 0)
        for row in Refund.objects.filter(order=order, status__in=OWED)
        .values("capture")
        .annotate(amount=Sum("amount"), points=Sum("points"))
    }
    lines = []
    for capture in order.payments.filter(kind=PaymentKind.CAPTURE):
        amount, points = owed.get(capture.pk, (Decimal(0), 0))
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


def order_refunds_record(*, order: Order, lines: list[RefundLine], actor: Actor, reason: str = "") -> list[Refund]:
    """One refund row per line, checked first against what each capture can still give back.

    Runs in the caller's transaction; the order is locked so two refunds at once cannot both
    give back the same money. 400 `invalid_refund` for an amount not above zero (or finer than
    a cent, or points on a capture not paid with points), 409 `refund_exceeds_paid` for more
    than a capture has left, 400 `partial_points_refund` for part of a points capture (points
    come back only through `loyalty_reverse`, for the whole order). Nothing is written then.
    The refunds of balances have succeeded when this returns; the others are pending.
    """
    order = order_locked(order)
    _lines_check(lines, plan=order_refunds_plan(order=order))
    return _refunds_create(order=order, lines=lines, actor=actor, reason=reason)


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


def _refunds_create(*, order: Order, lines: list[RefundLine], actor: Actor, reason: str) -> list[Refund]:
    refunds = []
    for line in lines:
        capture = line.capture
        refund = Refund.objects.create(
            order=order,
            capture=capture,
            method=capture.method,
            amount=line.amount,
            points=line.points if capture.method == PaymentMethod.LOYALTY_POINTS else None,
            reason=reason[:200],
            # The balances are given back here; any other money by whoever took it.
            client=None if capture.method in BALANCE_METHODS else capture.client,
            channel=actor.channel,
            requested_by_client=actor.client,
            requested_by_user=actor.staff_user,
        )
        if capture.method in BALANCE_METHODS:
            if capture.method == PaymentMethod.STORE_CREDIT:
                store_credit_grant(
                    customer=order.customer,
                    amount=line.amount,
                    reference=order.number,
                    reason="refund",
                    channel=actor.channel,
                    currency=order.currency,
                )
            _succeed(order, refund, actor=actor)
        refunds.append(refund)
    return refunds


# What settling a refund writes (`_settle`), besides what each outcome adds.
SETTLED_FIELDS = ("status", "confirmed_at", "confirmed_by_client", "confirmed_by_user", "settled_reason")


def _settle(refund: Refund, *, actor: Actor, status: RefundStatus, settled_reason: str) -> None:
    refund.status_move(status)
    refund.confirmed_at = timezone.now()
    refund.confirmed_by_client = actor.client
    refund.confirmed_by_user = actor.staff_user
    refund.settled_reason = settled_reason[:250]


def _succeed(
    order: Order, refund: Refund, *, actor: Actor, provider_reference: str = "", settled_reason: str = ""
) -> None:
    """The money moved: the ledger's refund row, the order's refunded amount, its history, the customer told."""
    _settle(refund, actor=actor, status=RefundStatus.SUCCEEDED, settled_reason=settled_reason)  # refused first
    refund.provider_reference = provider_reference[:120]
    refund.payment = Payment.objects.create(
        order=order,
        kind=PaymentKind.REFUND,
        method=refund.method,
        amount=refund.amount,
        points=refund.points,
        refund_of_id=refund.capture_id,
        provider_reference=refund.provider_reference,
        channel=actor.channel,
        client=actor.client,
        user=actor.staff_user,
    )
    refund.save(update_fields=[*SETTLED_FIELDS, "provider_reference", "payment"])
    order.refunded_amount += refund.amount
    order.save(update_fields=["refunded_amount"])
    note = f"{refund.get_method_display()} {refund.amount}"
    order_history_add(
        order,
        event=OrderEvent.REFUND_SUCCEEDED,
        actor=actor,
        note=_("%(note)s · by hand: %(reason)s") % {"note": note, "reason": settled_reason} if settled_reason else note,
    )
    order_notification_due(order, kind=NotificationKind.REFUND, refund=refund)


def _fail(order: Order, refund: Refund, *, actor: Actor, failure_reason: str, settled_reason: str = "") -> None:
    _settle(refund, actor=actor, status=RefundStatus.FAILED, settled_reason=settled_reason)
    refund.failure_reason = (failure_reason.strip() or _("Refused by the payment provider."))[:250]
    refund.save(update_fields=[*SETTLED_FIELDS, "failure_reason"])
    note = f"{refund.get_method_display()} {refund.amount}: {refund.failure_reason}"
    order_history_add(
        order,
        event=OrderEvent.REFUND_FAILED,
        actor=actor,
        note=_("%(note)s · by hand") % {"note": note} if settled_reason else note,
    )


def order_refunds_hand_over(*, order: Order, refunds: list[Refund]) -> int:
    """Each pending refund goes to the integration that gives it back: one `order.refund` webhook per
    refund and subscription. Returns how many were sent; nobody subscribed leaves a refund pending,
    for staff to see."""
    sent = 0
    for refund in refunds:
        if refund.status != RefundStatus.PENDING or refund.client_id is None:
            continue
        subscriptions = webhook_subscriptions_active(event=REFUND_EVENT).filter(client_id=refund.client_id)
        for subscription in subscriptions:
            webhook_enqueue(
                target_url=subscription.url,
                secret=subscription.secret,
                event=REFUND_EVENT,
                body=_webhook_body(order, refund),
                subscription=subscription,
            )
            sent += 1
    handed = [refund.pk for refund in refunds if refund.status == RefundStatus.PENDING and refund.client_id]
    if sent and handed:
        Refund.objects.filter(pk__in=handed).update(handed_over_at=timezone.now())
    return sent


def _webhook_body(order: Order, refund: Refund) -> dict[str, object]:
    """What the integration is asked to give back, and what it confirms (the refund's id and amount)."""
    return {
        "event": REFUND_EVENT,
        "order": order.number,
        "currency": order.currency,
        "refund": {
            "id": refund.pk,
            "method": refund.method,
            "amount": refund.amount,
            "capture_reference": refund.capture.provider_reference,
            "reason": refund.reason,
        },
    }


def order_refund_all(*, order: Order, actor: Actor, reason: str) -> list[Refund]:
    """Everything paid is owed back (a cancellation): every capture, and the order's points.

    Redeemed points come back and earned ones are taken back, as far as the balance allows
    (`loyalty_reverse`). Returns the refunds: the balances' succeeded, the rest pending and handed
    over. The caller holds the order's lock (`order_locked`): the plan read here is what is left.
    """
    refunds = _refunds_create(order=order, lines=order_refunds_plan(order=order), actor=actor, reason=reason)
    loyalty_reverse(reference=order.number, reason=reason, channel=actor.channel)
    order_refunds_hand_over(order=order, refunds=refunds)
    return refunds


def _refund_locked(order: Order, refund_id: int) -> Refund:
    """The refund of this (locked) order, locked too: after the order, always in that order."""
    refund = (
        Refund.objects.select_for_update(of=("self",))
        .select_related("capture")
        .filter(order=order, pk=refund_id)
        .first()
    )
    if refund is None:
        raise RefundNotFound(_("This order has no such refund."))
    refund.order = order
    return refund


@use_case
def refund_confirm(
    *,
    order: Order,
    refund_id: int,
    actor: Actor,
    status: str,
    amount: Decimal,
    provider_reference: str = "",
    failure_reason: str = "",
) -> Refund:
    """The integration or the till says how a refund went (see the module's docstring, step 4).

    404 `refund_not_found` for a refund this caller does not confirm; 400 `invalid_refund` for an
    outcome that is not succeeded or failed, or a provider's success without its reference; 400
    `refund_amount_mismatch` for another amount; 409 `refund_settled` for another outcome (or
    reference) once settled. Nothing changes then.
    """
    provider_reference = (provider_reference or "").strip()
    if status not in OUTCOMES:
        raise OrderInputError(
            _("Say whether the refund succeeded or failed."),
            code=OrderErrorCode.INVALID_REFUND,
            fields={"status": [_("succeeded or failed.")]},
        )
    order = order_locked(order)
    refund = _refund_locked(order, refund_id)
    refund_check_confirms(refund, actor=actor)
    if amount != refund.amount:
        raise OrderInputError(
            _("This refund is of %(amount)s %(currency)s.") % {"amount": refund.amount, "currency": order.currency},
            code=OrderErrorCode.REFUND_AMOUNT_MISMATCH,
            fields={"amount": [_("Not this refund's amount.")]},
            extra={"amount": str(refund.amount)},
        )
    if refund.status != RefundStatus.PENDING:
        same = status == refund.status and provider_reference in ("", refund.provider_reference)
        if same:
            return refund  # the same confirmation again: answered as it is
        raise RefundSettled(
            _("This refund already %(status)s.") % {"status": refund.get_status_display().lower()},
            extra={"status": refund.status},
        )
    if status == RefundStatus.SUCCEEDED and _by_provider(refund) and not provider_reference:
        raise OrderInputError(
            _("Give the payment provider's refund reference."),
            code=OrderErrorCode.INVALID_REFUND,
            fields={"provider_reference": [_("Required for this method.")]},
        )
    if status == RefundStatus.SUCCEEDED:
        _succeed(order, refund, actor=actor, provider_reference=provider_reference)
    else:
        _fail(order, refund, actor=actor, failure_reason=failure_reason)
    return refund


@use_case
def refund_retry(*, refund: Refund, actor: Actor) -> Refund:
    """Hand a refund to its integration again: a pending one gets a new webhook; a failed one is owed
    again, as a new pending refund (`retry_of`) handed over. Returns the refund handed over.

    409 `refund_settled` for one that succeeded or was already tried again, `refund_nobody_to_hand_over`
    for a pending one nobody takes (settle it by hand), `refund_exceeds_paid` when the money is owed
    by another refund meanwhile.
    """
    order = order_locked(refund.order)
    refund = _refund_locked(order, refund.pk)
    refund_check_settles(refund, actor=actor)
    if refund.status == RefundStatus.SUCCEEDED or Refund.objects.filter(retry_of=refund).exists():
        raise RefundSettled(
            _("This refund already succeeded, or was tried again.")
            if refund.status == RefundStatus.SUCCEEDED
            else _("This refund was tried again already."),
            extra={"status": refund.status},
        )
    if refund.status == RefundStatus.PENDING:
        if not order_refunds_hand_over(order=order, refunds=[refund]):
            raise OrderStateError(
                _("No integration takes this refund: settle it by hand."),
                code=OrderErrorCode.REFUND_NOBODY_TO_HAND_OVER,
            )
        order_history_add(order, event=OrderEvent.REFUND_HANDED_OVER, actor=actor, note=_refund_note(refund))
        return refund
    _lines_check(
        [RefundLine(capture=refund.capture, amount=refund.amount, points=refund.points)],
        plan=order_refunds_plan(order=order),
    )
    again = Refund.objects.create(
        order=order,
        capture=refund.capture,
        method=refund.method,
        amount=refund.amount,
        points=refund.points,
        reason=refund.reason,
        client=refund.client,
        retry_of=refund,
        channel=actor.channel,
        requested_by_client=actor.client,
        requested_by_user=actor.staff_user,
    )
    order_refunds_hand_over(order=order, refunds=[again])
    order_history_add(order, event=OrderEvent.REFUND_HANDED_OVER, actor=actor, note=_refund_note(again))
    return again


def _by_provider(refund: Refund) -> bool:
    """A payment provider gives this refund back (card, PayPal, store card): not a balance, not the till."""
    return refund.method not in (*BALANCE_METHODS, PaymentMethod.CASH, PaymentMethod.CARD_AT_TILL)


def _refund_note(refund: Refund) -> str:
    return f"#{refund.pk} {refund.get_method_display()} {refund.amount}"


@use_case
def refund_settle(
    *, refund: Refund, actor: Actor, succeeded: bool, reason: str, provider_reference: str = ""
) -> Refund:
    """Staff settle a pending refund by hand (the money went back another way, or never will), with a
    reason kept on the refund and in the order's history. Only staff with `settle_refund`
    (accounts and managers: orders.roles).

    A provider's refund already handed to its integration (`handed_over_at`) may be giving the
    money back right now: settling it as succeeded needs the provider's refund reference (what
    the integration would have confirmed; it goes on the ledger's row), so a refund nobody saw
    happen is never written as paid. Settling it as failed is allowed with the reason (the refund
    keeps when it was handed over): staff say the provider will not pay it. Handing
    it over again afterwards (`refund_retry`) is a new refund row (`retry_of`) and a new webhook,
    as for any failed refund; if the first one did go through after all, its late confirmation
    is refused (409 `refund_settled`) and shows in the integration's log, not in the ledger.

    400 `invalid_refund` without a reason, or without the reference when it is needed; 409
    `refund_settled` once settled. The order's row, then the refund's, are locked as
    `refund_confirm` locks them: settling and a confirmation at once are one outcome.
    """
    reason = (reason or "").strip()
    provider_reference = (provider_reference or "").strip()
    if not reason:
        raise OrderInputError(
            _("Say why the refund is settled by hand."),
            code=OrderErrorCode.INVALID_REFUND,
            fields={"reason": [_("Required.")]},
        )
    order = order_locked(refund.order)
    refund = _refund_locked(order, refund.pk)
    refund_check_settles(refund, actor=actor)
    handed_over = refund.handed_over_at is not None and _by_provider(refund)
    if succeeded and handed_over and not provider_reference and refund.status == RefundStatus.PENDING:
        raise OrderInputError(
            _(
                "This refund was handed to the payment provider: give the provider's refund reference, "
                "so that it is not paid twice."
            ),
            code=OrderErrorCode.INVALID_REFUND,
            fields={"provider_reference": [_("Required for a refund handed to the payment provider.")]},
        )
    if succeeded:
        _succeed(order, refund, actor=actor, provider_reference=provider_reference, settled_reason=reason)
    else:
        _fail(order, refund, actor=actor, failure_reason=reason, settled_reason=reason)
    return refund
