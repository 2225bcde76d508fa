"""Money helpers shared by every app: currencies we support and their minor units."""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units. CLP has none: prices are whole pesos.
CURRENCY_MINOR_UNITS: dict[str, int] = {
    "EUR": 2,
    "USD": 2,
    "MXN": 2,
    "ARS": 2,
    "CLP": 0,
}


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"Unsupported currency {currency!r}") from None


def quantum(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01 for EUR, 1 for CLP."""
    return Decimal(1).scaleb(-currency_exponent(currency))


def money_round(amount: Decimal, currency: str) -> Decimal:
    """Round half up to the currency's minor unit (commercial rounding)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def has_valid_precision(amount: Decimal, currency: str) -> bool:
    """True when the amount has no digits below the currency's minor unit."""
    return amount == amount.quantize(quantum(currency))
