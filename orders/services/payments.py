"""Payments: several per order, in any method the channel may use; the last one issues the invoice.

A channel reports a capture its payment provider made (card, PayPal, store card), a till
records cash or a card at the till, and store credit and loyalty points are spent here.
When the payments cover the total, the same transaction marks the order paid, issues the
invoice (number and totals assigned now; rendering and e-mail follow the commit) and earns
the customer's loyalty points. The order row is locked first, so two payments racing for the
last euro cannot both be accepted.
"""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config.money import has_valid_precision
from config.transactions import use_case
from customers.models import EventKind
from customers.services.loyalty import loyalty_earn, loyalty_points_value, loyalty_redeem
from customers.services.store_credit import store_credit_spend
from invoicing.calculation import LineInput
from invoicing.selectors import seller_default
from invoicing.services import Buyer, invoice_issue
from orders.exceptions import OrderErrorCode, OrderInputError, PaymentMethodNotAllowed
from orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentMode,
)
from orders.services.access import order_check_takes_payment
from orders.services.billing import BillingDetails, order_billing_set, order_check_invoiceable
from orders.services.common import Actor, order_history_add, order_locked, order_timeline_add
from orders.services.delivery import delivery_line
from orders.services.fulfilment import order_ready_when_arrived
from orders.services.parcels import order_parcels_plan

# Methods whose money a payment provider moved: the channel reports its capture reference.
PROVIDER_METHODS = (PaymentMethod.CARD, PaymentMethod.PAYPAL, PaymentMethod.STORE_CARD)
# Spent from the customer's own balances: they earn no points.
BALANCE_METHODS = (PaymentMethod.STORE_CREDIT, PaymentMethod.LOYALTY_POINTS)


def _method_known(method: str) -> None:
    if method not in PaymentMethod.values:
        raise OrderInputError(
            _("Unknown payment method."),
            code=OrderErrorCode.INVALID_PAYMENT,
            fields={"method": [_("One of: %(choices)s.") % {"choices": ", ".join(PaymentMethod.values)}]},
        )


def _method_allowed(method: str, actor: Actor) -> None:
    if method not in settings.ORDER_PAYMENT_METHODS.get(actor.channel, []):
        raise PaymentMethodNotAllowed(
            _("The %(channel)s channel may not take %(method)s payments.")
            % {"channel": actor.channel, "method": PaymentMethod(method).label},
            fields={"method": [_("Not allowed for this channel.")]},
        )


def _amount_checked(*, order: Order, method: str, amount: Decimal | None, points: int | None) -> Decimal:
    if method == PaymentMethod.LOYALTY_POINTS:
        if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
            raise OrderInputError(
                _("Say how many points to spend."),
                code=OrderErrorCode.INVALID_PAYMENT,
                fields={"points": [_("A positive number.")]},
            )
        amount = loyalty_points_value(points)
    if amount is None or amount <= 0 or not has_valid_precision(amount, order.currency):
        raise OrderInputError(
            _("A payment is a positive amount in the order's currency."),
            code=OrderErrorCode.INVALID_PAYMENT,
            fields={"amount": [_("A positive amount with at most the currency's decimals.")]},
        )
    if amount > order.amount_due:
        raise OrderInputError(
            _("The payment is more than the %(due)s %(currency)s still due.")
            % {"due": order.amount_due, "currency": order.currency},
            code=OrderErrorCode.PAYMENT_EXCEEDS_DUE,
            fields={"amount": [_("More than is due.")]},
            extra={"amount_due": str(order.amount_due)},
        )
    return amount


@use_case
def order_payment_add(
    *,
    order: Order,
    actor: Actor,
    method: str,
    amount: Decimal | None = None,
    points: int | None = None,
    provider_reference: str = "",
    billing: BillingDetails | None = None,
) -> Order:
    """Record one payment; when the order is covered it is paid and invoiced in the same transaction.

    `billing` (the buyer's tax id, name and address) makes the invoice a full one. An order above
    the limit of a simplified invoice without them is refused, nothing recorded
    (`full_invoice_required`, orders/services/billing.py).

    A provider's capture reported twice (same method and reference, same order and amount) is
    answered with the order as it is: a channel may retry a report safely. Staff take payments
    where `order_check_takes_payment` lets them; an order with nothing to pay says so (409)
    before the channel is told it may not take the method.
    """
    _method_known(method)
    provider_reference = (provider_reference or "").strip()
    if method in PROVIDER_METHODS and not provider_reference:
        raise OrderInputError(
            _("Give the payment provider's capture reference."),
            code=OrderErrorCode.INVALID_PAYMENT,
            fields={"provider_reference": [_("Required for this method.")]},
        )
    order = order_locked(order)
    order_check_takes_payment(order, actor=actor)
    if provider_reference:
        earlier = Payment.objects.filter(
            kind=PaymentKind.CAPTURE, method=method, provider_reference=provider_reference
        ).first()
        if earlier is not None:
            if earlier.order_id == order.pk and (amount is None or earlier.amount == amount):
                return order
            raise OrderInputError(
                _("This capture was already recorded."),
                code=OrderErrorCode.DUPLICATE_CAPTURE,
                fields={"provider_reference": [_("Already used.")]},
            )
    payable = order.status == OrderStatus.PLACED or (
        order.status == OrderStatus.READY and order.payment_mode == PaymentMode.AT_PICKUP and not order.is_paid
    )
    if not payable:
        raise order.status_refusal()  # nothing to pay on a paid or cancelled order
    _method_allowed(method, actor)
    amount = _amount_checked(order=order, method=method, amount=amount, points=points)
    billing_fields = order_billing_set(order, billing=billing) if billing is not None else []
    order_check_invoiceable(order)
    if method == PaymentMethod.LOYALTY_POINTS:
        loyalty_redeem(customer=order.customer, points=points or 0, reference=order.number, channel=actor.channel)
    elif method == PaymentMethod.STORE_CREDIT:
        store_credit_spend(
            customer=order.customer,
            amount=amount,
            reference=order.number,
            channel=actor.channel,
            currency=order.currency,
        )
    _capture_create(
        order=order,
        kind=PaymentKind.CAPTURE,
        method=method,
        amount=amount,
        points=points if method == PaymentMethod.LOYALTY_POINTS else None,
        provider_reference=provider_reference,
        channel=actor.channel,
        client=actor.client,
        user=actor.staff_user,
    )
    order.paid_amount += amount
    order_history_add(order, event=OrderEvent.PAYMENT, actor=actor, note=f"{PaymentMethod(method).label} {amount}")
    covered = order.paid_amount == order.total
    if covered:
        _order_paid(order, actor=actor)
    order.save(update_fields=["paid_amount", "paid_at", "invoice", "status", *billing_fields])
    if covered:
        order_ready_when_arrived(order, actor=actor)  # after the save: ready needs the invoice
    return order


def _capture_create(*, provider_reference: str, **fields: Any) -> Payment:
    """The capture row. A provider reference checked above may be committed meanwhile by a report
    for another order (the orders' locks do not serialise two orders): refused, not a 500."""
    if not provider_reference:
        return Payment.objects.create(provider_reference="", **fields)
    try:
        with transaction.atomic():
            return Payment.objects.create(provider_reference=provider_reference, **fields)
    except IntegrityError:
        raise OrderInputError(
            _("This capture was already recorded."),
            code=OrderErrorCode.DUPLICATE_CAPTURE,
            fields={"provider_reference": [_("Already used.")]},
        ) from None


def order_paid_if_free(order: Order, *, actor: Actor) -> None:
    """Promotions took every line to zero: nothing to pay, and no payment can be recorded (every
    payment is positive), so the order is covered as placed: paid and invoiced in its transaction."""
    if order.total == 0 and not order.is_paid:
        _order_paid(order, actor=actor)
        order.save(update_fields=["paid_at", "invoice", "status"])


def _invoice_lines(order: Order) -> list[LineInput]:
    """One invoice line per variant and price: a line split across locations is one line on paper."""
    grouped: dict[tuple[int, Decimal, Decimal, Decimal], list[OrderLine]] = defaultdict(list)
    for line in order.lines.all():
        grouped[(line.variant_id, line.unit_price, line.regular_unit_price, line.tax_rate)].append(line)
    result = []
    for (_variant, unit_price, regular, rate), lines in grouped.items():
        quantity = sum(line.quantity for line in lines)
        result.append(
            LineInput(
                description=lines[0].description,
                quantity=Decimal(quantity),
                unit_price=regular,
                tax_rate=rate,
                discount=(regular - unit_price) * quantity,  # the promotion, shown on the invoice
                sku=lines[0].sku,
            )
        )
    if order.delivery_charge > 0:  # its own line, at its own VAT rate: as placing totalled it
        result.append(
            delivery_line(
                description=order.delivery_method.name,  # type: ignore[union-attr]  # a charge has a method
                charge=order.delivery_charge,
                tax_rate=order.delivery_tax_rate,
            )
        )
    return result


def _buyer(order: Order) -> Buyer:
    if order.billing_tax_id:
        return Buyer(
            name=order.billing_name,
            tax_id=order.billing_tax_id,
            country=order.billing_country,
            street=order.billing_street,
            city=order.billing_city,
            postal_code=order.billing_postal_code,
            email=order.email,
            language=order.language,
        )
    return Buyer(name=order.customer_name, country=order.shipping_country, email=order.email, language=order.language)


def _order_paid(order: Order, *, actor: Actor) -> None:
    """Covered: paid, invoiced and points earned, all in the payment's transaction."""
    order.paid_at = timezone.now()
    if order.status == OrderStatus.PLACED:  # a pay-at-pickup order waiting ready stays ready
        order.status_move(OrderStatus.PAID)
    order_parcels_plan(order)  # a ship order's boxes, one per location its lines come from
    spent_from_balances = order.payments.filter(kind=PaymentKind.CAPTURE, method__in=BALANCE_METHODS).aggregate(
        s=Sum("amount")
    )["s"] or Decimal(0)
    # Points reward the goods, not the delivery charge, nor what balances paid.
    earning = order.total - order.delivery_charge - spent_from_balances
    if earning > 0:
        loyalty_earn(
            customer=order.customer,
            amount=earning,
            reference=order.number,
            channel=actor.channel,
        )
    # Last: issuing locks the seller's chain head until commit, so hold it for as little as possible.
    order.invoice = invoice_issue(
        seller=seller_default(),
        buyer=_buyer(order),
        lines=_invoice_lines(order),
        currency=order.currency,
        source_reference=order.number,
        customer=order.customer,
        # Issued for the client the order belongs to, not whoever reported the payment: reporting a
        # payment for another channel's order must not put its invoice within the reporter's reach.
        issued_by=order.client,
    )
    order_history_add(order, event=OrderEvent.PAID, actor=actor, note=order.invoice.number)
    order_timeline_add(
        order, kind=EventKind.ORDER_PAID, actor=actor, invoice=order.invoice.number, total=str(order.total)
    )
