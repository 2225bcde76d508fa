"""Invoicing itself refuses a simplified invoice above the seller country's limit (defence in depth)."""

from decimal import Decimal
from typing import Any

import pytest

from invoicing.calculation import LineInput
from invoicing.exceptions import InvoiceErrorCode, InvoiceInputError
from invoicing.limits import simplified_invoice_allowed, simplified_invoice_limit
from invoicing.models import DocumentKind, Invoice, InvoiceSeries
from invoicing.services import Buyer, invoice_issue
from tests.factories import SellerFactory

pytestmark = pytest.mark.django_db

FULL_BUYER = Buyer(
    name="Ana García SL", tax_id="12345678Z", country="ES", street="Calle Luna 3", city="Sevilla", postal_code="41001"
)


def lines(total: str) -> list[LineInput]:
    return [LineInput(description="Portátil", quantity=Decimal(1), unit_price=Decimal(total), tax_rate=Decimal(21))]


def test_spain_limits_a_simplified_invoice_to_3000_euros() -> None:
    limit = simplified_invoice_limit(country="es")
    assert limit is not None
    assert (limit.amount, limit.currency) == (Decimal("3000.00"), "EUR")
    assert simplified_invoice_limit(country="PT") is None


def test_a_ticket_at_the_limit_is_issued() -> None:
    invoice = invoice_issue(seller=SellerFactory.create(), buyer=Buyer(), lines=lines("3000.00"), currency="EUR")
    assert invoice.kind == DocumentKind.SIMPLIFIED


def test_a_ticket_above_the_limit_is_refused_and_nothing_is_written() -> None:
    seller = SellerFactory.create()

    with pytest.raises(InvoiceInputError) as refused:
        invoice_issue(seller=seller, buyer=Buyer(name="Ana"), lines=lines("3000.01"), currency="EUR")

    assert refused.value.code == InvoiceErrorCode.SIMPLIFIED_OVER_LIMIT
    assert refused.value.extra == {"limit": "3000.00"}
    assert (Invoice.objects.count(), InvoiceSeries.objects.count()) == (0, 0)


def test_above_the_limit_a_buyer_with_a_tax_id_gets_a_full_invoice() -> None:
    invoice = invoice_issue(seller=SellerFactory.create(), buyer=FULL_BUYER, lines=lines("3000.01"), currency="EUR")
    assert invoice.kind == DocumentKind.INVOICE


def test_a_seller_of_a_country_without_a_limit_issues_any_ticket() -> None:
    seller = SellerFactory.create(country="PT", tax_id="PT501964843")
    invoice = invoice_issue(seller=seller, buyer=Buyer(), lines=lines("9000.00"), currency="EUR")
    assert invoice.kind == DocumentKind.SIMPLIFIED


def test_a_limit_binds_documents_in_its_own_currency_only(settings: Any) -> None:
    """No exchange rates are kept: a ticket in another currency is not compared (invoicing/limits.py)."""
    assert simplified_invoice_allowed(country="ES", total=Decimal("9990"), currency="CLP")
    assert not simplified_invoice_allowed(country="ES", total=Decimal("3000.01"), currency="eur")
