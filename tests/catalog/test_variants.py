"""Catalog rules for variants: barcodes, prices and uniqueness, in the service and in the database."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import Product, Variant
from catalog.services import variant_create
from catalog.validators import validate_barcode
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

EAN_13 = "4006381333931"
UPC_A = "036000291452"
EAN_8 = "96385074"
# A GTIN-14 with a correct check digit: a shipping-case code, not a retail unit.
GTIN_14 = "14006381333938"

VALID_BARCODES = [
    pytest.param(EAN_13, id="ean-13"),
    pytest.param(UPC_A, id="upc-a"),
    pytest.param(EAN_8, id="ean-8"),
]
WRONG_CHECK_DIGITS = [
    pytest.param("4006381333932", id="ean-13"),
    pytest.param("036000291453", id="upc-a"),
    pytest.param("96385075", id="ean-8"),
]
WRONG_LENGTHS = [
    pytest.param("4006381333", id="10-digits"),
    pytest.param(GTIN_14, id="14-digits"),
    pytest.param("1234567", id="7-digits"),
]
LETTERS = [
    pytest.param("40063813339AB", id="letters-in-digits"),
    pytest.param("ABCDEFGH", id="all-letters"),
]


def error_codes(exc: ValidationError, field: str) -> list[str | None]:
    return [error.code for error in exc.error_dict[field]]


@pytest.fixture
def product() -> Product:
    return ProductFactory.create()


def create(product: Product, **kwargs: Any) -> Variant:
    fields: dict[str, Any] = {"sku": "TS-001-M", "price": Decimal("19.99")}
    fields.update(kwargs)
    return variant_create(product=product, **fields)


# Barcodes: the validator


@pytest.mark.parametrize("barcode", VALID_BARCODES)
def test_validate_barcode_accepts_retail_codes(barcode: str) -> None:
    validate_barcode(barcode)


def test_validate_barcode_accepts_spaces_and_hyphens() -> None:
    validate_barcode("4 006381-333931")


@pytest.mark.parametrize("barcode", WRONG_CHECK_DIGITS)
def test_validate_barcode_rejects_wrong_check_digit(barcode: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        validate_barcode(barcode)

    assert exc_info.value.code == "barcode_checksum"


@pytest.mark.parametrize("barcode", LETTERS)
def test_validate_barcode_rejects_letters(barcode: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        validate_barcode(barcode)

    assert exc_info.value.code == "barcode_format"


@pytest.mark.parametrize("barcode", WRONG_LENGTHS)
def test_validate_barcode_rejects_wrong_length(barcode: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        validate_barcode(barcode)

    assert exc_info.value.code == "barcode_length"


# Barcodes: through the service


@pytest.mark.parametrize("barcode", VALID_BARCODES)
def test_variant_create_stores_retail_barcode(product: Product, barcode: str) -> None:
    variant = create(product, barcode=barcode)

    variant.refresh_from_db()
    assert variant.barcode == barcode


def test_variant_create_stores_barcode_without_spaces_or_hyphens(product: Product) -> None:
    variant = create(product, barcode="4 006381-333931")

    variant.refresh_from_db()
    assert variant.barcode == EAN_13


@pytest.mark.parametrize("barcode", ["", None])
def test_variant_create_stores_missing_barcode_as_null(product: Product, barcode: str | None) -> None:
    variant = create(product, barcode=barcode)

    variant.refresh_from_db()
    assert variant.barcode is None


@pytest.mark.parametrize("barcode", WRONG_CHECK_DIGITS)
def test_variant_create_rejects_wrong_check_digit(product: Product, barcode: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        create(product, barcode=barcode)

    assert "barcode_checksum" in error_codes(exc_info.value, "barcode")
    assert not Variant.objects.exists()


@pytest.mark.parametrize("barcode", [*LETTERS, *WRONG_LENGTHS])
def test_variant_create_rejects_malformed_barcode(product: Product, barcode: str) -> None:
    with pytest.raises(ValidationError) as exc_info:
        create(product, barcode=barcode)

    assert "barcode" in exc_info.value.error_dict
    assert not Variant.objects.exists()


# Prices


@pytest.mark.parametrize("price", [Decimal(0), Decimal("-0.01"), Decimal(-10)])
def test_variant_create_rejects_non_positive_price(product: Product, price: Decimal) -> None:
    with pytest.raises(ValidationError) as exc_info:
        create(product, price=price)

    assert "price_not_positive" in error_codes(exc_info.value, "price")
    assert not Variant.objects.exists()


@pytest.mark.parametrize("price", [Decimal(0), Decimal(-10)])
def test_database_rejects_non_positive_price_on_insert(product: Product, price: Decimal) -> None:
    with pytest.raises(IntegrityError, match="variant_price_positive"), transaction.atomic():
        Variant.objects.create(product=product, sku="TS-001-M", price=price)


@pytest.mark.parametrize("price", [Decimal(0), Decimal(-10)])
def test_database_rejects_non_positive_price_on_update(price: Decimal) -> None:
    variant = VariantFactory.create(price=Decimal("19.99"))

    with pytest.raises(IntegrityError, match="variant_price_positive"), transaction.atomic():
        Variant.objects.filter(pk=variant.pk).update(price=price)


def test_variant_create_accepts_compare_at_price_above_price(product: Product) -> None:
    variant = create(product, price=Decimal("19.99"), compare_at_price=Decimal("24.99"))

    variant.refresh_from_db()
    assert variant.compare_at_price == Decimal("24.99")


@pytest.mark.parametrize("compare_at_price", [Decimal("19.99"), Decimal("15.00")], ids=["equal", "lower"])
def test_variant_create_rejects_compare_at_price_not_above_price(product: Product, compare_at_price: Decimal) -> None:
    with pytest.raises(ValidationError) as exc_info:
        create(product, price=Decimal("19.99"), compare_at_price=compare_at_price)

    assert "compare_at_price" in exc_info.value.error_dict
    assert not Variant.objects.exists()


@pytest.mark.parametrize("compare_at_price", [Decimal("19.99"), Decimal("15.00")], ids=["equal", "lower"])
def test_database_rejects_compare_at_price_not_above_price(compare_at_price: Decimal) -> None:
    variant = VariantFactory.create(price=Decimal("19.99"))

    with pytest.raises(IntegrityError, match="variant_compare_at_above_price"), transaction.atomic():
        Variant.objects.filter(pk=variant.pk).update(compare_at_price=compare_at_price)


def test_clp_price_with_cents_is_rejected(product: Product, settings: Any) -> None:
    settings.DEFAULT_CURRENCY = "CLP"

    with pytest.raises(ValidationError) as exc_info:
        create(product, price=Decimal("19990.50"))

    assert "price_precision" in error_codes(exc_info.value, "price")


def test_clp_compare_at_price_with_cents_is_rejected(product: Product, settings: Any) -> None:
    settings.DEFAULT_CURRENCY = "CLP"

    with pytest.raises(ValidationError) as exc_info:
        create(product, price=Decimal(19990), compare_at_price=Decimal("24990.50"))

    assert "price_precision" in error_codes(exc_info.value, "compare_at_price")


def test_clp_whole_price_is_accepted(product: Product, settings: Any) -> None:
    settings.DEFAULT_CURRENCY = "CLP"

    variant = create(product, price=Decimal(19990))

    variant.refresh_from_db()
    assert variant.price == Decimal(19990)


def test_eur_price_with_cents_is_accepted(product: Product, settings: Any) -> None:
    settings.DEFAULT_CURRENCY = "EUR"

    variant = create(product, price=Decimal("19.99"))

    variant.refresh_from_db()
    assert variant.price == Decimal("19.99")


# Uniqueness


def test_variant_create_rejects_duplicate_sku(product: Product) -> None:
    create(product, sku="TS-001-M", barcode=EAN_13)

    with pytest.raises(ValidationError) as exc_info:
        create(product, sku="TS-001-M", barcode=EAN_8)

    assert "sku" in exc_info.value.error_dict
    assert Variant.objects.count() == 1


def test_variant_create_rejects_duplicate_sku_with_surrounding_spaces(product: Product) -> None:
    create(product, sku="TS-001-M")

    with pytest.raises(ValidationError) as exc_info:
        create(product, sku="  TS-001-M ")

    assert "sku" in exc_info.value.error_dict


def test_database_rejects_duplicate_sku(product: Product) -> None:
    VariantFactory.create(product=product, sku="TS-001-M")

    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.create(product=product, sku="TS-001-M", price=Decimal("9.99"))


def test_variant_create_rejects_duplicate_barcode(product: Product) -> None:
    create(product, sku="TS-001-M", barcode=EAN_13)

    with pytest.raises(ValidationError) as exc_info:
        create(product, sku="TS-001-L", barcode=EAN_13)

    assert "barcode" in exc_info.value.error_dict
    assert Variant.objects.count() == 1


def test_variant_create_rejects_duplicate_barcode_written_with_spaces(product: Product) -> None:
    create(product, sku="TS-001-M", barcode=EAN_13)

    with pytest.raises(ValidationError) as exc_info:
        create(product, sku="TS-001-L", barcode="4006381 333931")

    assert "barcode" in exc_info.value.error_dict


def test_database_rejects_duplicate_barcode(product: Product) -> None:
    VariantFactory.create(product=product, sku="TS-001-M", barcode=EAN_13)

    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.create(product=product, sku="TS-001-L", barcode=EAN_13, price=Decimal("9.99"))


def test_variants_without_barcode_do_not_clash(product: Product) -> None:
    create(product, sku="TS-001-M", barcode="")
    create(product, sku="TS-001-L", barcode="")

    assert Variant.objects.filter(barcode__isnull=True).count() == 2
