"""The most a simplified invoice (ticket) may be for, by the seller's country.

Above it the law wants a full invoice naming the buyer: in Spain 3,000 € with VAT included for
retail sales (Real Decreto 1619/2012, art. 4.1). The table is the `INVOICE_SIMPLIFIED_LIMITS`
setting, {country: {"amount": "3000.00", "currency": "EUR"}}: a country without a row has no
limit. A limit binds documents in its own currency; the project keeps no exchange rates, so a
document in another currency is not compared (say so in the setting's row of a country that
sells in several currencies).

Orders asks before taking a payment (`simplified_invoice_allowed`), and `invoice_issue` refuses
a ticket above the limit whoever asks (defence in depth).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings


@dataclass(frozen=True)
class SimplifiedLimit:
    amount: Decimal
    currency: str


def simplified_invoice_limit(*, country: str) -> SimplifiedLimit | None:
    """The seller country's limit on a ticket's total (tax included), or None without one."""
    row = settings.INVOICE_SIMPLIFIED_LIMITS.get(country.upper())
    if row is None:
        return None
    return SimplifiedLimit(amount=Decimal(str(row["amount"])), currency=str(row["currency"]).upper())


def simplified_invoice_allowed(*, country: str, total: Decimal, currency: str) -> bool:
    """Whether a ticket for `total` (tax included) may be issued by a seller of `country`."""
    limit = simplified_invoice_limit(country=country)
    return limit is None or limit.currency != currency.upper() or total <= limit.amount
