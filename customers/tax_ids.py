"""Tax ids customers give for full invoices: Spanish NIF/NIE/CIF, Argentine CUIT, Chilean RUT, EU VAT."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from stdnum import exceptions as stdnum_exceptions
from stdnum.ar import cuit
from stdnum.cl import rut
from stdnum.es import cif, nie, nif
from stdnum.eu import vat

# Country → validators tried in order; each module has compact() and validate().
VALIDATORS_BY_COUNTRY = {
    "ES": (nif, nie, cif),
    "AR": (cuit,),
    "CL": (rut,),
}


def tax_id_normalise(value: str, country: str = "") -> str:
    """The compact, validated tax id (e.g. "12345678Z", "20-26756539-3" → "20267565393").

    An EU VAT number (with its country prefix) is accepted whatever the country.
    Raises ValidationError when no scheme accepts it.
    """
    value = (value or "").strip()
    candidates = list(VALIDATORS_BY_COUNTRY.get(country.upper(), ()))
    if not candidates:
        candidates = [module for modules in VALIDATORS_BY_COUNTRY.values() for module in modules]
    for module in candidates:
        try:
            return str(module.validate(value))
        except stdnum_exceptions.ValidationError:
            continue
    try:
        return str(vat.validate(value))
    except stdnum_exceptions.ValidationError:
        pass
    raise ValidationError(
        gettext("Enter a valid tax id (NIF, NIE, CIF, CUIT, RUT or EU VAT number)."), code="invalid_tax_id"
    )
