"""Placing an order: one transaction resolves the customer, writes the order and reserves its
stock, or nothing happens (a refused order leaves no customer behind either).

Prices come from the catalog's effective price at the moment of placing; a client never
sends them. Sourcing is planned by inventory (`sourcing_plan`) before the order is written
and reserved when it is. If another buyer took the stock in between, the reservation fails and
its savepoint takes back everything the attempt wrote; the order is planned once more from the
stock left now (another location may still have it) and written from that plan. Only when that
fails too is the whole order rolled back, the answer listing the lines that could not be served.

The Idempotency-Key makes retries safe. A replay is recognised first, before anything else is
read or written: it answers with its order and resolves no customer again. The order row is
the first write of a new order, and the unique (scope, key) constraint makes a concurrent
replay wait for the first request and then find its order instead of writing a second.
"""

import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Variant
from catalog.pricing import variant_prices
from config.idempotency import IdempotencyKeyReused
from config.transactions import use_case
from customers.identities import IdentityKind, identity_normalise
from customers.models import Customer, EventKind
from customers.services.resolve import customer_resolve
from inventory.exceptions import OutOfStock
from inventory.locks import stock_levels_lock
from inventory.models import Location
from inventory.services import stock_reserve, transfer_request
from inventory.sourcing import FulfilmentType as SourcingType
from inventory.sourcing import SourcingPlan, sourcing_plan
from invoicing.calculation import LineInput, invoice_totals_compute
from orders.codes import pickup_secret_new
from orders.exceptions import OrderErrorCode, OrderInputError
from orders.models import FulfilmentType, NotificationKind, Order, OrderEvent, OrderLine, OrderStatus, PaymentMode
from orders.services.billing import billing_details_check
from orders.services.common import Actor, order_history_add, order_timeline_add
from orders.services.delivery import (
    DeliveryOption,
    basket_measure,
    delivery_line,
    delivery_option_choose,
    delivery_options,
)
from orders.services.notifications import order_notification_due
from orders.services.payments import order_paid_if_free

NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
NUMBER_ATTEMPTS = 5


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Address:
    name: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""

    def is_complete(self) -> bool:
        return all(v.strip() for v in (self.street, self.city, self.postal_code, self.country))


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """What a channel asks for: its customer, or the identities that resolve them (`customer_resolve`)."""

    customer: Customer | None = None
    identities: Sequence[Mapping[str, str]] = ()
    lines: Sequence[LineRequest]
    fulfilment_type: str
    pickup_location: Location | None = None
    shipping: Address | None = None
    payment_mode: str = PaymentMode.NOW
    email: str = ""
    phone: str = ""
    name: str = ""
    language: str = ""
    billing_tax_id: str = ""
    billing: Address | None = None
    delivery_method: str = ""  # a DeliveryMethod code; empty: the default of the fulfilment's kind


@dataclass(frozen=True)
class Placement:
    order: Order
    created: bool


def idempotency_scope(actor: Actor) -> str:
    """Keys are per credential: two channels may pick the same key without colliding."""
    if actor.client is not None:
        return f"client:{actor.client.pk}"
    return f"user:{getattr(actor.user, 'pk', None) or 0}"


def _number_new() -> str:
    raw = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _replay(*, scope: str, key: str, fingerprint: str) -> Placement | None:
    existing = Order.objects.filter(idempotency_scope=scope, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was used for a different order."), extra={"order": existing.number}
        )
    return Placement(order=existing, created=False)


def variants_checked(lines: Sequence[LineRequest]) -> list[tuple[Variant, int]]:
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = [_("Give at least one line.")]
    skus = {line.sku for line in lines}
    variants = {
        v.sku: v
        for v in Variant.objects.filter(sku__in=skus).select_related("product__tax_category", "product__category")
    }
    for i, line in enumerate(lines):
        variant = variants.get(line.sku)
        if variant is None:
            errors[f"lines[{i}].sku"] = [_("Unknown SKU %(sku)s.") % {"sku": line.sku}]
        elif not (variant.is_active and variant.product.is_active):
            errors[f"lines[{i}].sku"] = [_("%(sku)s is not on sale.") % {"sku": line.sku}]
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity <= 0:
            errors[f"lines[{i}].quantity"] = [_("A quantity is a whole number greater than zero.")]
    if errors:
        raise OrderInputError(_("Some lines cannot be ordered."), code=OrderErrorCode.INVALID_LINES, fields=errors)
    return [(variants[line.sku], line.quantity) for line in lines]


def destination_checked(request: OrderRequest) -> None:
    errors: dict[str, list[str]] = {}
    kind = request.fulfilment_type
    if kind not in FulfilmentType.values:
        errors["fulfilment_type"] = [_("One of: %(choices)s.") % {"choices": ", ".join(FulfilmentType.values)}]
    elif kind == FulfilmentType.SHIP:
        if request.shipping is None or not request.shipping.is_complete():
            errors["shipping_address"] = [_("A shipped order needs street, city, postal code and country.")]
        if request.pickup_location is not None:
            errors["pickup_location"] = [_("A shipped order has no pickup location.")]
    else:
        location = request.pickup_location
        if location is None:
            errors["pickup_location"] = [_("Say where the customer picks the order up.")]
        elif not (location.is_active and location.is_pickup_point):
            errors["pickup_location"] = [_("%(code)s is not a pickup point.") % {"code": location.code}]
        elif (kind == FulfilmentType.LOCKER) != (location.kind == "locker"):
            errors["pickup_location"] = [
                _("%(code)s is not a locker.") % {"code": location.code}
                if kind == FulfilmentType.LOCKER
                else _("%(code)s is a locker: use the locker fulfilment.") % {"code": location.code}
            ]
    if request.payment_mode not in PaymentMode.values:
        errors["payment_mode"] = [_("One of: %(choices)s.") % {"choices": ", ".join(PaymentMode.values)}]
    elif request.payment_mode == PaymentMode.AT_PICKUP and kind not in (
        FulfilmentType.PICKUP,
        FulfilmentType.SHIP_TO_STORE,
    ):
        errors["payment_mode"] = [_("Only orders picked up in a store can be paid at pickup.")]
    if errors:
        raise OrderInputError(_("The order cannot be placed as asked."), fields=errors)


def _billing_checked(request: OrderRequest) -> tuple[str, Address]:
    """A customer who gives a tax id gets a full invoice, which needs a name and an address."""
    billing = request.billing or request.shipping or Address()
    if not request.billing_tax_id.strip():
        return "", billing
    tax_id = billing_details_check(
        tax_id=request.billing_tax_id,
        name=billing.name or request.name,
        street=billing.street,
        city=billing.city,
        postal_code=billing.postal_code,
        country=billing.country,
    )
    return tax_id, billing


def _contact_checked(request: OrderRequest) -> tuple[str, str]:
    """E-mail and phone as identities store them: tracking compares normalised values."""
    errors: dict[str, list[str]] = {}
    found = {}
    for field, kind, value in (
        ("email", IdentityKind.EMAIL, request.email),
        ("phone", IdentityKind.PHONE, request.phone),
    ):
        if not (value or "").strip():
            found[field] = ""
            continue
        try:
            found[field] = identity_normalise(kind, value)
        except ValidationError as error:
            errors[field] = list(error.messages)
    if errors:
        raise OrderInputError(_("The contact details are not valid."), fields=errors)
    return found["email"], found["phone"]


def _sourcing_type(kind: str) -> str:
    return (
        SourcingType.SHIP
        if kind == FulfilmentType.SHIP
        else SourcingType.LOCKER
        if kind == FulfilmentType.LOCKER
        else SourcingType.PICKUP
    )


def _plan(request: OrderRequest, lines: list[tuple[Variant, int]]) -> SourcingPlan:
    try:
        return sourcing_plan(
            lines=lines, fulfilment=_sourcing_type(request.fulfilment_type), pickup_location=request.pickup_location
        )
    except ValidationError as error:
        raise OrderInputError(_("The order cannot be placed as asked."), fields=error.message_dict) from None


def _payment_due_by(*, mode: str, ready_date: Any) -> datetime:
    if mode == PaymentMode.AT_PICKUP:
        # The end of the last day the customer may come, in the shop's time zone.
        last_day = ready_date + timedelta(days=settings.ORDER_PAY_AT_PICKUP_DAYS)
        return timezone.make_aware(datetime.combine(last_day, time.max))
    return timezone.now() + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


@use_case
def order_place(*, actor: Actor, idempotency_key: str, fingerprint: str, request: OrderRequest) -> Placement:
    """Place an order, or return the one this key already placed (created=False).

    The replay is recognised first and changes nothing. A new order's customer is then resolved
    from the request's identities (unless the request names the customer), brought by the
    credential placing it; a refusal after that rolls the customer back with the order.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise OrderInputError(
            _("Send an Idempotency-Key header of 1 to 100 characters."),
            code=OrderErrorCode.IDEMPOTENCY_KEY_REQUIRED,
            fields={"Idempotency-Key": [_("Required, at most 100 characters.")]},
        )
    scope = idempotency_scope(actor)
    replay = _replay(scope=scope, key=key, fingerprint=fingerprint)
    if replay is not None:
        return replay
    customer = request.customer
    if customer is None:  # a new customer is brought by the credential placing the order
        customer = customer_resolve.step(
            identities=request.identities, channel=actor.channel, name=request.name, client=actor.client
        ).customer
    lines = variants_checked(request.lines)
    destination_checked(request)
    tax_id, billing = _billing_checked(request)
    email, phone = _contact_checked(request)
    request = replace(request, email=email, phone=phone)
    plan = _plan(request, lines)
    prices = variant_prices(variants=[variant for variant, _q in lines])
    delivery, weight = _delivery_checked(request, lines=lines, prices=prices)
    replanned = False
    attempt = 0
    while True:
        try:
            with transaction.atomic():  # a savepoint: a lost race on the key, number or stock is recovered
                order = _order_write(
                    actor=actor,
                    scope=scope,
                    key=key,
                    fingerprint=fingerprint,
                    customer=customer,
                    request=request,
                    plan=plan,
                    prices=prices,
                    tax_id=tax_id,
                    billing=billing,
                    delivery=delivery,
                    weight=weight,
                )
            return Placement(order=order, created=True)
        except OutOfStock:
            # Another buyer took planned stock after planning: plan once more from what is left
            # now (OutOfStock from the planner if nothing is); a second loss is the answer.
            if replanned:
                raise
            replanned = True
            plan = _plan(request, lines)
        except IntegrityError as error:
            # The same key committed meanwhile (a concurrent replay): answer with that order.
            replay = _replay(scope=scope, key=key, fingerprint=fingerprint)
            if replay is not None:
                return replay
            attempt += 1
            if "number" not in str(error) or attempt == NUMBER_ATTEMPTS:
                raise


def _delivery_checked(
    request: OrderRequest, *, lines: list[tuple[Variant, int]], prices: dict[int, Any]
) -> tuple[DeliveryOption | None, int]:
    """The delivery the order takes and the basket's weight (orders.services.delivery); refused with
    a 400 before anything is reserved."""
    goods_total, weight = basket_measure(lines=lines, prices=prices)
    if request.fulfilment_type == FulfilmentType.SHIP:
        shipping = request.shipping or Address()
        country, postal_code = shipping.country, shipping.postal_code
    else:
        country, postal_code = request.pickup_location.country, ""  # type: ignore[union-attr]  # checked before
    quote = delivery_options(
        fulfilment_type=request.fulfilment_type,
        country=country,
        postal_code=postal_code,
        goods_total=goods_total,
        weight_grams=weight,
        currency=settings.DEFAULT_CURRENCY,
    )
    return delivery_option_choose(quote=quote, code=request.delivery_method), weight


def _order_write(
    *,
    actor: Actor,
    scope: str,
    key: str,
    fingerprint: str,
    customer: Customer,
    request: OrderRequest,
    plan: SourcingPlan,
    prices: dict[int, Any],
    tax_id: str,
    billing: Address,
    delivery: DeliveryOption | None = None,
    weight: int = 0,
) -> Order:
    currency = settings.DEFAULT_CURRENCY
    kind = request.fulfilment_type
    if kind in (FulfilmentType.PICKUP, FulfilmentType.SHIP_TO_STORE):
        # Endless aisle by itself: a pickup the store cannot serve from its shelf is sent there.
        kind = FulfilmentType.SHIP_TO_STORE if plan.needs_transfer else FulfilmentType.PICKUP
    totals = invoice_totals_compute(
        lines=[
            LineInput(
                description=variant.sku,
                quantity=Decimal(quantity),
                unit_price=prices[variant.pk].amount,
                tax_rate=variant.product.tax_category.rate,
            )
            for variant, quantity in plan.requested
        ]
        + (
            [delivery_line(description=delivery.method.name, charge=delivery.price, tax_rate=delivery.tax_rate)]
            if delivery is not None and delivery.price > 0
            else []
        ),
        currency=currency,
        prices_include_tax=True,
    )
    shipping = request.shipping or Address()
    # The first write: a concurrent request with the same key waits here, then fails and replays.
    order = Order.objects.create(
        number=_number_new(),
        channel=actor.channel,
        client=actor.client,
        placed_by_user=actor.staff_user,
        idempotency_scope=scope,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        customer=customer,
        email=request.email,
        phone=request.phone,
        customer_name=request.name or customer.name,
        language=request.language or customer.preferred_language,
        status=OrderStatus.PLACED,
        fulfilment_type=kind,
        payment_mode=request.payment_mode,
        pickup_location=request.pickup_location if kind != FulfilmentType.SHIP else None,
        shipping_name=shipping.name or request.name or customer.name,
        shipping_street=shipping.street,
        shipping_city=shipping.city,
        shipping_postal_code=shipping.postal_code,
        shipping_country=shipping.country.upper(),
        billing_tax_id=tax_id,
        billing_name=(billing.name or request.name) if tax_id else "",
        billing_street=billing.street if tax_id else "",
        billing_city=billing.city if tax_id else "",
        billing_postal_code=billing.postal_code if tax_id else "",
        billing_country=billing.country.upper() if tax_id else "",
        currency=currency,
        total=totals.payable_total,
        tax_total=totals.tax_total,
        delivery_method=delivery.method if delivery else None,
        delivery_zone=delivery.zone if delivery else None,
        delivery_charge=delivery.price if delivery else Decimal(0),
        delivery_tax_rate=delivery.tax_rate if delivery else Decimal(0),
        weight_grams=weight,
        ready_date=plan.ready_date,
        payment_due_by=_payment_due_by(mode=request.payment_mode, ready_date=plan.ready_date),
        pickup_secret=pickup_secret_new() if kind != FulfilmentType.SHIP else "",
    )
    if plan.needs_transfer:  # several inventory calls below: take every row first, in one order
        stock_levels_lock(keys=[(line.source.pk, line.variant.pk) for line in plan.lines])
    direct = [line for line in plan.lines if not line.needs_transfer]
    if direct:
        stock_reserve(lines=[line.stock_line() for line in direct], reference=order.number, channel=actor.channel)
    by_source: dict[int, list[Any]] = defaultdict(list)
    for line in plan.lines:
        if line.needs_transfer:
            by_source[line.source.pk].append(line)
    transfers = {
        source_id: transfer_request.step(
            source=parts[0].source,
            destination=request.pickup_location,  # type: ignore[arg-type]
            lines=[(part.variant, part.quantity) for part in parts],
            reference=order.number,
            expected_at=max(part.ready_date for part in parts),
        )
        for source_id, parts in by_source.items()
    }
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            position=position,
            variant=line.variant,
            sku=line.variant.sku,
            description=_line_description(line.variant),
            quantity=line.quantity,
            unit_price=prices[line.variant.pk].amount,
            regular_unit_price=prices[line.variant.pk].regular_price,
            tax_rate=line.variant.product.tax_category.rate,
            line_total=prices[line.variant.pk].amount * line.quantity,
            source=line.source,
            transfer=transfers.get(line.source.pk) if line.needs_transfer else None,
        )
        for position, line in enumerate(plan.lines, start=1)
    )
    order_history_add(order, event=OrderEvent.PLACED, actor=actor)
    order_timeline_add(order, kind=EventKind.ORDER_PLACED, actor=actor, total=str(order.total))
    order_notification_due(order, kind=NotificationKind.PLACED)
    order_paid_if_free(order, actor=actor)
    return order


def _line_description(variant: Variant) -> str:
    details = " / ".join(part for part in (variant.size, variant.colour) if part)
    name = variant.product.name
    return f"{name} ({details})" if details else name
