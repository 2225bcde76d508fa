"""The buyer's details for a full invoice: one set of rules for placing and for paying."""

import pytest

from orders.exceptions import OrderInputError
from orders.services.billing import billing_details_check
from tests.factories import VALID_NIFS

FULL = {"name": "Ana García SL", "street": "Calle Luna 3", "city": "Sevilla", "postal_code": "41001", "country": "es"}


def test_valid_details_give_the_tax_id_normalised() -> None:
    assert billing_details_check(tax_id=f" {VALID_NIFS[0].lower()} ", **FULL) == VALID_NIFS[0]


def test_a_missing_tax_id_is_required() -> None:
    with pytest.raises(OrderInputError) as refused:
        billing_details_check(tax_id=" ", **FULL)

    assert list(refused.value.fields) == ["billing_tax_id"]


def test_an_invalid_tax_id_and_an_incomplete_address_are_both_named() -> None:
    with pytest.raises(OrderInputError) as refused:
        billing_details_check(tax_id="12345678A", **(FULL | {"city": ""}))

    assert list(refused.value.fields) == ["billing_address", "billing_tax_id"]
