"""Who the invoice names: the buyer's tax id, name and address, and when a ticket will not do.

A customer who gives a tax id gets a full invoice; without one the payment that covers the
order issues a simplified invoice (ticket). A ticket has a legal ceiling set by the seller's
country (invoicing.limits: in Spain 3,000 € with VAT for retail). A payment on an order above it
is refused (`full_invoice_required`, nothing recorded) until the channel sends the buyer's tax id,
name and address with the payment (or placed the order with them): the invoice is then a full one.
Any payment of such an order is refused, not only the last one, so the channel learns it before
money is split across payments that could not all be recorded.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from customers.tax_ids import tax_id_normalise
from invoicing.limits import simplified_invoice_allowed, simplified_invoice_limit
from invoicing.selectors import seller_default
from orders.exceptions import OrderErrorCode, OrderInputError
from orders.models import Order

BILLING_FIELDS = (
    "billing_tax_id",
    "billing_name",
    "billing_street",
    "billing_city",
    "billing_postal_code",
    "billing_country",
)


@dataclass(frozen=True)
class BillingDetails:
    """The buyer's details for a full invoice, as a channel sends them with a payment."""

    tax_id: str
    name: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""


def billing_details_check(*, tax_id: str, name: str, street: str, city: str, postal_code: str, country: str) -> str:
    """The rules of a full invoice's buyer, placing or paying: a tax id valid for the country
    (python-stdnum), a name and a full address. Returns the tax id normalised; refuses with the
    fields at fault (`billing_tax_id`, `billing_address`). invoicing checks its buyer again below."""
    errors: dict[str, list[str]] = {}
    if not tax_id.strip():
        errors["billing_tax_id"] = [_("Required for a full invoice.")]
    if not name.strip() or not all(v.strip() for v in (street, city, postal_code, country)):
        errors["billing_address"] = [_("A full invoice needs the buyer's name and full address.")]
    normalised = ""
    if tax_id.strip():
        try:
            normalised = tax_id_normalise(tax_id, country.strip().upper())
        except ValidationError as error:
            errors["billing_tax_id"] = list(error.messages)
    if errors:
        raise OrderInputError(_("The invoicing details are not valid."), fields=errors)
    return normalised


def order_billing_set(order: Order, *, billing: BillingDetails) -> list[str]:
    """Validate the buyer's details and put them on the (locked) order; the fields to save.

    The same rules as placing with a tax id: a name (the order's customer name when none is
    given), a full address and a tax id valid for the country (python-stdnum).
    """
    name = billing.name.strip() or order.customer_name
    country = billing.country.strip().upper()
    tax_id = billing_details_check(
        tax_id=billing.tax_id,
        name=name,
        street=billing.street,
        city=billing.city,
        postal_code=billing.postal_code,
        country=country,
    )
    order.billing_tax_id = tax_id
    order.billing_name = name
    order.billing_street = billing.street.strip()
    order.billing_city = billing.city.strip()
    order.billing_postal_code = billing.postal_code.strip()
    order.billing_country = country
    return list(BILLING_FIELDS)


def order_check_invoiceable(order: Order) -> None:
    """Refuse to take money for a ticket the law does not allow: above the seller country's limit."""
    if order.billing_tax_id:
        return
    seller = seller_default()
    if simplified_invoice_allowed(country=seller.country, total=order.total, currency=order.currency):
        return
    limit = simplified_invoice_limit(country=seller.country)
    assert limit is not None  # noqa: S101 (refused only under a limit)
    raise OrderInputError(
        _(
            "Above %(limit)s %(currency)s the invoice must be a full one: send the buyer's tax id, "
            "name and address with the payment."
        )
        % {"limit": limit.amount, "currency": limit.currency},
        code=OrderErrorCode.FULL_INVOICE_REQUIRED,
        fields={"billing": [_("Required: tax id, name and full address.")]},
        extra={"limit": str(limit.amount)},
    )
