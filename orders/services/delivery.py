"""Delivery charges: which methods serve a basket going somewhere, and at what price.

The rules, in the order they apply (mirrored by tests/orders/test_delivery.py):

1. A method serves one kind of order (`DeliveryKind`): shipped orders, store pickups (those
   sent to a store by transfer too) or lockers. Only active methods are offered.
2. The destination's zone: for a shipped order, its address's country and postal code; for a
   pickup or a locker, the pickup location's country (`selectors.delivery_zone_for`: the area
   with the longest postal-code prefix the code starts with; an empty prefix is the whole country).
3. A method's price is its rate for that zone, in the order's currency, of the lightest weight
   band that takes the basket (the sum of its variants' weights; a band without an upper bound
   takes any weight). No such rate: the method is not offered there (too heavy, or not to this zone).
4. A rate is free when the goods (VAT included, at the prices the order pays) reach its
   `free_over`.
5. A pickup or locker method without any rate is free everywhere ("free unless configured"); a
   method that ships is offered only where a rate prices it.
6. The order's method is the one it names; when it names none, the default method of its kind
   if offered, else the cheapest offered (then the first in the list). When no method of the kind
   is active at all, the order carries no method and no charge: shops that configure no delivery
   keep working as before.
7. Refusals, all 400 and nothing written: a code that names no active method
   (`delivery_method_unknown`); an address in no zone while methods that ship exist
   (`delivery_zone_unknown`); methods exist but none, or not the one named, serves this basket
   and destination (`delivery_unavailable`).

The charge is VAT included at its method's rate (`DeliveryMethod.tax_category`); placing adds it
to the order's total and tax (orders.services.placing) and the invoice carries it as a line of
its own (orders.services.payments).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from django.utils.translation import gettext as _

from catalog.models import Variant
from catalog.pricing import EffectivePrice
from invoicing.calculation import LineInput
from orders import selectors
from orders.exceptions import OrderErrorCode, OrderInputError
from orders.models import DeliveryKind, DeliveryMethod, DeliveryZone, FulfilmentType

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DeliveryOption:
    """One method offered for a basket and a destination, with what it costs there."""

    method: DeliveryMethod
    zone: DeliveryZone | None
    price: Decimal  # what the customer pays, VAT included
    regular_price: Decimal  # the band's price, before the free threshold
    free_over: Decimal | None
    tax_rate: Decimal
    is_default: bool = False


@dataclass(frozen=True)
class DeliveryQuote:
    """The methods offered for a basket going somewhere, in list order; `default` is what applies
    when the order names none (None: no method of this kind is configured, nothing is charged)."""

    kind: str
    currency: str
    goods_total: Decimal
    weight_grams: int
    zone: DeliveryZone | None
    options: tuple[DeliveryOption, ...]

    @property
    def default(self) -> DeliveryOption | None:
        return next((option for option in self.options if option.is_default), None)


def delivery_kind_for(fulfilment_type: str) -> str:
    """The kind of method an order's fulfilment takes: a pickup sent to a store is still a pickup."""
    if fulfilment_type == FulfilmentType.SHIP:
        return DeliveryKind.SHIP
    if fulfilment_type == FulfilmentType.LOCKER:
        return DeliveryKind.LOCKER
    return DeliveryKind.PICKUP


def _option(
    method: DeliveryMethod, *, zone: DeliveryZone | None, goods_total: Decimal, weight: int
) -> DeliveryOption | None:
    rates = list(method.rates.all())  # prefetched: this currency's, with their zones
    tax_rate = method.tax_category.rate
    if not rates and method.kind != DeliveryKind.SHIP:
        return DeliveryOption(
            method=method, zone=zone, price=ZERO, regular_price=ZERO, free_over=None, tax_rate=tax_rate
        )
    if zone is None:
        return None
    bands = sorted(
        (rate for rate in rates if rate.zone_id == zone.pk),
        key=lambda rate: (rate.max_weight_grams is None, rate.max_weight_grams or 0),
    )
    rate = next((r for r in bands if r.max_weight_grams is None or weight <= r.max_weight_grams), None)
    if rate is None:
        return None
    free = rate.free_over is not None and goods_total >= rate.free_over
    return DeliveryOption(
        method=method,
        zone=zone,
        price=ZERO if free else rate.price,
        regular_price=rate.price,
        free_over=rate.free_over,
        tax_rate=tax_rate,
    )


def delivery_options(
    *,
    fulfilment_type: str,
    country: str,
    postal_code: str = "",
    goods_total: Decimal,
    weight_grams: int,
    currency: str,
) -> DeliveryQuote:
    """The methods offered (rules 1 to 6). Raises `delivery_zone_unknown` and `delivery_unavailable`
    (rule 7) when methods of the kind exist and none can serve. Three queries."""
    kind = delivery_kind_for(fulfilment_type)
    methods = list(selectors.delivery_method_list(kind=kind, currency=currency))
    zone = selectors.delivery_zone_for(country=country, postal_code=postal_code) if methods else None
    options = [
        option
        for method in methods
        if (option := _option(method, zone=zone, goods_total=goods_total, weight=weight_grams)) is not None
    ]
    where = " ".join(part for part in ((country or "").upper(), postal_code) if part)
    if methods and not options:
        if zone is None and kind == DeliveryKind.SHIP:
            raise OrderInputError(
                _("We do not deliver to %(where)s.") % {"where": where or _("this address")},
                code=OrderErrorCode.DELIVERY_ZONE_UNKNOWN,
                fields={"shipping_address": [_("No delivery zone covers this address.")]},
                extra={"country": (country or "").upper(), "postal_code": postal_code},
            )
        raise OrderInputError(
            _("No delivery method serves this basket there."),
            code=OrderErrorCode.DELIVERY_UNAVAILABLE,
            fields={"delivery_method": [_("None available for this destination and weight.")]},
            extra={"zone": zone.code if zone else None, "weight_grams": weight_grams},
        )
    if options:
        chosen = next((o for o in options if o.method.is_default), None) or min(
            options, key=lambda o: (o.price, options.index(o))
        )
        options = [replace(option, is_default=option is chosen) for option in options]
    return DeliveryQuote(
        kind=kind,
        currency=currency,
        goods_total=goods_total,
        weight_grams=weight_grams,
        zone=zone,
        options=tuple(options),
    )


def delivery_option_choose(*, quote: DeliveryQuote, code: str) -> DeliveryOption | None:
    """The option an order takes: the one named by `code`, or the quote's default (rule 6)."""
    code = (code or "").strip()
    if not code:
        return quote.default
    chosen = next((option for option in quote.options if option.method.code == code), None)
    if chosen is not None:
        return chosen
    if not selectors.delivery_method_list(currency=quote.currency).filter(code=code).exists():
        raise OrderInputError(
            _("Unknown delivery method %(code)s.") % {"code": code},
            code=OrderErrorCode.DELIVERY_METHOD_UNKNOWN,
            fields={"delivery_method": [_("No active delivery method has this code.")]},
        )
    codes = ", ".join(option.method.code for option in quote.options) or "-"
    raise OrderInputError(
        _("The delivery method %(code)s does not serve this order.") % {"code": code},
        code=OrderErrorCode.DELIVERY_UNAVAILABLE,
        fields={"delivery_method": [_("Choose one of: %(codes)s.") % {"codes": codes}]},
        extra={"available": [option.method.code for option in quote.options]},
    )


def basket_measure(*, lines: Sequence[tuple[Variant, int]], prices: dict[int, EffectivePrice]) -> tuple[Decimal, int]:
    """The goods total (VAT included, at the prices the order pays) and the weight of a basket."""
    total = sum((prices[variant.pk].amount * quantity for variant, quantity in lines), ZERO)
    weight = sum(variant.weight_grams * quantity for variant, quantity in lines)
    return total, weight


def delivery_line(*, description: str, charge: Decimal, tax_rate: Decimal) -> LineInput:
    """The delivery charge as a document line: one unit, VAT included, at the method's rate. The
    order's totals (placing) and its invoice (payments) are computed with this same line."""
    return LineInput(description=description, quantity=Decimal(1), unit_price=charge, tax_rate=tax_rate)
