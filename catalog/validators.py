from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import ean
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from config.money import has_valid_precision

# EAN-8, UPC-A and EAN-13: what shop scanners read on retail units.
BARCODE_LENGTHS = (8, 12, 13)


def barcode_normalise(value: str) -> str:
    return ean.compact(value)


def validate_barcode(value: str) -> None:
    """A retail barcode: EAN-13, UPC-A (12 digits) or EAN-8, with a correct check digit."""
    code = barcode_normalise(value)
    try:
        ean.validate(code)
        if len(code) not in BARCODE_LENGTHS:
            raise InvalidLength
    except InvalidLength:  # before InvalidFormat: stdnum's InvalidLength is a subclass of it
        raise ValidationError(
            _("A barcode has 13 digits (EAN-13), 12 (UPC-A) or 8 (EAN-8)."), code="barcode_length"
        ) from None
    except InvalidFormat:
        raise ValidationError(_("A barcode has digits only."), code="barcode_format") from None
    except InvalidChecksum:
        raise ValidationError(_("The barcode's check digit is wrong."), code="barcode_checksum") from None


def validate_price(value: Decimal) -> None:
    if value is None:
        return
    if value <= 0:
        raise ValidationError(_("A price must be greater than zero."), code="price_not_positive")
    if not has_valid_precision(value, settings.DEFAULT_CURRENCY):
        raise ValidationError(
            _("%(currency)s prices have no more decimals than its minor unit.")
            % {"currency": settings.DEFAULT_CURRENCY},
            code="price_precision",
        )
