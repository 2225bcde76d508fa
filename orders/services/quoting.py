"""Quoting delivery before placing: the methods and prices `order_place` would apply to a basket.

The basket is checked and priced as placing checks and prices it (the same SKU checks, the same
effective prices, the same weights), so the quote and the order agree; the destination needs
only what prices delivery: a country and a postal code to ship, or the pickup location.
"""

from collections.abc import Sequence

from django.conf import settings
from django.utils.translation import gettext as _

from catalog.pricing import variant_prices
from config.transactions import use_case
from inventory.models import Location
from orders.exceptions import OrderInputError
from orders.models import FulfilmentType
from orders.services.delivery import DeliveryQuote, basket_measure, delivery_options
from orders.services.placing import LineRequest, OrderRequest, destination_checked, variants_checked


@use_case
def delivery_quote(
    *,
    lines: Sequence[LineRequest],
    fulfilment_type: str,
    country: str = "",
    postal_code: str = "",
    pickup_location: Location | None = None,
) -> DeliveryQuote:
    """What each delivery method would cost for this basket and destination (a read: nothing written).

    400 `invalid_lines` for lines that cannot be ordered, `invalid_order` for a destination that
    is not one (no country to ship to, not a pickup point), and the delivery refusals of
    orders.services.delivery (`delivery_zone_unknown`, `delivery_unavailable`).
    """
    variants = variants_checked(lines)
    if fulfilment_type == FulfilmentType.SHIP:
        country = (country or "").strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise OrderInputError(
                _("Say which country the order is shipped to."),
                fields={"shipping_address.country": [_("A two-letter country code.")]},
            )
    else:
        destination_checked(OrderRequest(lines=(), fulfilment_type=fulfilment_type, pickup_location=pickup_location))
        country, postal_code = pickup_location.country, ""  # type: ignore[union-attr]  # checked above
    prices = variant_prices(variants=[variant for variant, _quantity in variants])
    goods_total, weight = basket_measure(lines=variants, prices=prices)
    return delivery_options(
        fulfilment_type=fulfilment_type,
        country=country,
        postal_code=postal_code,
        goods_total=goods_total,
        weight_grams=weight,
        currency=settings.DEFAULT_CURRENCY,
    )
