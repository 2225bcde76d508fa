"""Identities and tax ids are normalised so that one person typed two ways is one value."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from customers.identities import identity_normalise
from customers.tax_ids import tax_id_normalise

pytestmark = pytest.mark.django_db

SPANISH_MOBILE = "+34612345678"
PHONE_SPELLINGS = [
    pytest.param("612 34 56 78", id="national-with-spaces"),
    pytest.param("+34612345678", id="e164"),
    pytest.param("0034 612-345-678", id="00-prefix-with-dashes"),
    pytest.param("+34 612 34 56 78", id="international-with-spaces"),
]
PHONE_KINDS = [pytest.param("phone", id="phone"), pytest.param("whatsapp", id="whatsapp")]
HANDLE_KINDS = [pytest.param(kind, id=kind) for kind in ("instagram", "facebook", "tiktok", "x")]

VALID_TAX_IDS = [
    pytest.param("12345678Z", "12345678Z", id="es-nif"),
    pytest.param("X1234567L", "X1234567L", id="es-nie"),
    pytest.param("B12345674", "B12345674", id="es-cif"),
    pytest.param("20-26756539-3", "20267565393", id="ar-cuit"),
    pytest.param("12.531.909-2", "125319092", id="cl-rut"),
    pytest.param("DE136695976", "DE136695976", id="eu-vat"),
]
INVALID_TAX_IDS = [
    pytest.param("12345678A", id="es-nif-wrong-letter"),
    pytest.param("X1234567A", id="es-nie-wrong-letter"),
    pytest.param("B12345670", id="es-cif-wrong-check"),
    pytest.param("20-26756539-4", id="ar-cuit-wrong-check"),
    pytest.param("12.531.909-3", id="cl-rut-wrong-check"),
    pytest.param("DE136695970", id="eu-vat-wrong-check"),
    pytest.param("hello", id="letters"),
    pytest.param("", id="blank"),
]


def error_code(exc_info: pytest.ExceptionInfo[ValidationError]) -> str | None:
    return exc_info.value.code


# Phones and WhatsApp numbers


@pytest.mark.parametrize("kind", PHONE_KINDS)
@pytest.mark.parametrize("value", PHONE_SPELLINGS)
def test_phone_spellings_normalise_to_one_e164_number(kind: str, value: str) -> None:
    assert identity_normalise(kind, value) == SPANISH_MOBILE


@pytest.mark.parametrize("kind", PHONE_KINDS)
@pytest.mark.parametrize("value", [pytest.param("12", id="too-short"), pytest.param("abc", id="letters")])
def test_invalid_phone_is_rejected_with_invalid_phone_code(kind: str, value: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        identity_normalise(kind, value)

    assert error_code(exc_info) == "invalid_phone"


def test_national_phone_is_read_in_the_default_region_from_settings(settings: Any) -> None:
    settings.CUSTOMER_DEFAULT_REGION = "AR"

    assert identity_normalise("phone", "011 4123-4567") == "+541141234567"


# E-mails


def test_email_is_trimmed_and_lower_cased() -> None:
    assert identity_normalise("email", "  Ana.Garcia@Example.COM ") == "ana.garcia@example.com"


@pytest.mark.parametrize("value", ["ana.garcia", "ana@", "ana garcia@example.com"])
def test_invalid_email_is_rejected(value: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        identity_normalise("email", value)

    assert error_code(exc_info) == "invalid_email"


# Social handles


@pytest.mark.parametrize("kind", HANDLE_KINDS)
def test_handle_is_lower_cased_without_at_sign(kind: str) -> None:
    assert identity_normalise(kind, "@Ana.Garcia") == "ana.garcia"


@pytest.mark.parametrize("kind", HANDLE_KINDS)
def test_handle_with_spaces_or_punctuation_is_rejected(kind: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        identity_normalise(kind, "ana garcia!")

    assert error_code(exc_info) == "invalid_handle"


# Any kind


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc_info:
        identity_normalise("fax", "912345678")

    assert error_code(exc_info) == "invalid_kind"


@pytest.mark.parametrize("kind", ["email", "phone", "instagram", "loyalty_card"])
@pytest.mark.parametrize("value", [pytest.param("", id="empty"), pytest.param("   ", id="spaces")])
def test_blank_value_is_rejected(kind: str, value: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        identity_normalise(kind, value)

    assert error_code(exc_info) == "blank"


# Tax ids


@pytest.mark.parametrize(("value", "compact"), VALID_TAX_IDS)
def test_valid_tax_id_is_accepted_in_compact_form(value: str, compact: str) -> None:
    assert tax_id_normalise(value) == compact


@pytest.mark.parametrize(
    ("value", "country", "compact"),
    [
        pytest.param("12345678Z", "ES", "12345678Z", id="es-nif"),
        pytest.param("20-26756539-3", "AR", "20267565393", id="ar-cuit"),
        pytest.param("12.531.909-2", "CL", "125319092", id="cl-rut"),
        pytest.param("DE136695976", "AR", "DE136695976", id="eu-vat-any-country"),
    ],
)
def test_valid_tax_id_is_accepted_for_its_country(value: str, country: str, compact: str) -> None:
    assert tax_id_normalise(value, country) == compact


@pytest.mark.parametrize("value", INVALID_TAX_IDS)
def test_invalid_tax_id_is_rejected(value: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        tax_id_normalise(value)

    assert error_code(exc_info) == "invalid_tax_id"
