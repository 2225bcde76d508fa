"""Issuing documents: numbering, snapshots, kinds, immutability and bad input."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from invoicing.calculation import LineInput
from invoicing.exceptions import InvoiceInputError, IssuedDocumentImmutable
from invoicing.models import (
    BillingRecord,
    DocumentKind,
    EmailStatus,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    RenderStatus,
)
from invoicing.selectors import invoice_email_status
from invoicing.services import Buyer, invoice_issue
from tests.factories import CustomerFactory, SellerFactory, invoice_issue_for

pytestmark = pytest.mark.django_db

FULL_BUYER = Buyer(
    name="Ana García",
    tax_id="12345678-z",
    country="es",
    street="Calle Luna 3",
    city="Sevilla",
    postal_code="41001",
    email="ana@example.com",
    language="es",
)


def line(quantity: str = "1", price: str = "49.95", rate: str = "21", **kwargs: Any) -> LineInput:
    return LineInput(
        description=kwargs.pop("description", "Camiseta"),
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        tax_rate=Decimal(rate),
        **kwargs,
    )


def test_a_buyer_without_tax_id_gets_a_simplified_invoice() -> None:
    invoice = invoice_issue_for(lines=[("2", "10.00", "21")])
    assert invoice.kind == DocumentKind.SIMPLIFIED
    assert invoice.number.startswith("T")
    assert invoice.payable_total == Decimal("20.00")


def test_a_buyer_with_a_tax_id_gets_a_full_invoice_with_the_tax_id_validated_and_compacted() -> None:
    invoice = invoice_issue(seller=SellerFactory.create(), buyer=FULL_BUYER, lines=[line()])
    assert invoice.kind == DocumentKind.INVOICE
    assert invoice.number.startswith("F")
    assert (invoice.buyer_tax_id, invoice.buyer_country) == ("12345678Z", "ES")


def test_numbers_follow_each_other_per_series_and_fiscal_year() -> None:
    seller = SellerFactory.create()
    numbers = [invoice_issue_for(seller).number for _ in range(3)]
    year = Invoice.objects.first().issue_date.year  # type: ignore[union-attr]
    assert numbers == [f"T{year}-000001", f"T{year}-000002", f"T{year}-000003"]
    full = invoice_issue(seller=seller, buyer=FULL_BUYER, lines=[line()])
    assert full.number == f"F{year}-000001"
    assert InvoiceSeries.objects.get(seller=seller, kind=DocumentKind.SIMPLIFIED).last_number == 3


def test_a_rolled_back_issue_gives_its_number_back() -> None:
    seller = SellerFactory.create()

    def pay_and_fail() -> None:
        with transaction.atomic():
            invoice_issue_for(seller)
            raise RuntimeError("payment failed later in the same transaction")

    with pytest.raises(RuntimeError):
        pay_and_fail()
    assert invoice_issue_for(seller).sequence == 1


def test_seller_and_buyer_are_snapshots_that_later_edits_do_not_change() -> None:
    seller = SellerFactory.create(name="Moda Sol S.L.")
    invoice = invoice_issue(seller=seller, buyer=FULL_BUYER, lines=[line()])
    seller.name = "Moda Sol Renamed S.A."
    seller.save()
    invoice.refresh_from_db()
    assert (invoice.seller_name, invoice.buyer_name, invoice.buyer_street) == (
        "Moda Sol S.L.",
        "Ana García",
        "Calle Luna 3",
    )


def test_lines_tax_breakdown_and_totals_are_stored() -> None:
    invoice = invoice_issue_for(lines=[("2", "12.10", "21"), ("1", "11.00", "10")])
    assert list(invoice.lines.values_list("position", "net_amount")) == [(1, Decimal("20.00")), (2, Decimal("10.00"))]
    assert list(invoice.taxes.values_list("tax_rate", "taxable_amount", "tax_amount")) == [
        (Decimal("21.00"), Decimal("20.00"), Decimal("4.20")),
        (Decimal("10.00"), Decimal("10.00"), Decimal("1.00")),
    ]
    assert (invoice.line_total, invoice.tax_total, invoice.payable_total) == (
        Decimal("30.00"),
        Decimal("5.20"),
        Decimal("35.20"),
    )


def test_the_customer_link_and_source_reference_are_kept() -> None:
    customer = CustomerFactory.create()
    invoice = invoice_issue_for(customer=customer, source_reference="W-1001")
    assert (invoice.customer, invoice.source_reference) == (customer, "W-1001")


def test_a_buyer_without_an_email_address_is_not_mailed() -> None:
    assert invoice_email_status(invoice=invoice_issue_for(email="")) == EmailStatus.NO_ADDRESS


def test_an_issued_document_refuses_to_be_saved_again() -> None:
    invoice = invoice_issue_for()
    invoice.grand_total = Decimal("1.00")
    with pytest.raises(IssuedDocumentImmutable):
        invoice.save()
    with pytest.raises(IssuedDocumentImmutable):
        invoice.save(update_fields=["grand_total"])
    invoice.refresh_from_db()
    assert invoice.grand_total == Decimal("49.95")


def test_the_database_refuses_updates_that_bypass_the_model() -> None:
    invoice = invoice_issue_for()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(grand_total=Decimal("1.00"), line_total=Decimal("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=invoice).update(description="Changed")
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingRecord.objects.filter(invoice=invoice).delete()


def test_operational_fields_may_still_change() -> None:
    invoice = invoice_issue_for()
    Invoice.objects.filter(pk=invoice.pk).update(render_status=RenderStatus.FAILED, erp_enqueued_at=timezone.now())
    invoice.refresh_from_db()
    assert invoice.render_status == RenderStatus.FAILED
    assert invoice.erp_enqueued_at is not None


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([line(quantity="-1")], "lines[0]"),
        ([line(quantity="0")], "lines[0]"),
        ([line(price="-5.00")], "lines[0]"),
        ([line(price="1.005")], "lines[0]"),
        ([line(rate="100")], "lines[0]"),
        ([line(description=" ")], "lines[0]"),
        ([line(), line(quantity="1", price="5.00", discount=Decimal("6.00"))], "lines[1]"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_written(lines: list[LineInput], field: str) -> None:
    seller = SellerFactory.create()
    with pytest.raises(InvoiceInputError) as excinfo:
        invoice_issue(seller=seller, buyer=Buyer(email="a@example.com"), lines=lines)
    assert field in excinfo.value.fields
    assert not Invoice.objects.exists()
    assert InvoiceSeries.objects.filter(last_number__gt=0).count() == 0


@pytest.mark.parametrize("tax_id", ["12345678A", "B12345670", "nonsense"])
def test_an_invalid_tax_id_is_refused(tax_id: str) -> None:
    with pytest.raises(InvoiceInputError) as excinfo:
        invoice_issue(
            seller=SellerFactory.create(), buyer=Buyer(**{**FULL_BUYER.__dict__, "tax_id": tax_id}), lines=[line()]
        )
    assert excinfo.value.code == "invalid_buyer"
    assert "tax_id" in excinfo.value.fields
    assert not Invoice.objects.exists()


def test_a_full_invoice_needs_the_buyer_address() -> None:
    with pytest.raises(InvoiceInputError) as excinfo:
        invoice_issue(
            seller=SellerFactory.create(), buyer=Buyer(name="Ana", tax_id="12345678Z", country="ES"), lines=[line()]
        )
    assert {"street", "city", "postal_code"} <= set(excinfo.value.fields)


def test_an_unsupported_currency_is_refused() -> None:
    with pytest.raises(InvoiceInputError) as excinfo:
        invoice_issue(seller=SellerFactory.create(), buyer=Buyer(), lines=[line()], currency="GBP")
    assert excinfo.value.code == "invalid_currency"


def test_chilean_pesos_have_no_minor_unit() -> None:
    invoice = invoice_issue_for(lines=[("3", "9990", "19")], currency="CLP")
    assert invoice.payable_total == Decimal("29970")
    assert invoice.tax_total == invoice.tax_total.quantize(Decimal(1))


def test_issuing_takes_the_same_number_of_queries_for_one_line_and_for_fifty(
    django_assert_max_num_queries: Any,
) -> None:
    seller = SellerFactory.create()
    invoice_issue_for(seller)  # the series exists from here on
    with django_assert_max_num_queries(12) as one:
        invoice_issue_for(seller, lines=[("1", "10.00", "21")])
    with django_assert_max_num_queries(12) as fifty:
        invoice_issue_for(seller, lines=[("1", "10.00", "21")] * 50)
    assert len(one.captured_queries) == len(fifty.captured_queries)
    assert connection.vendor == "postgresql"
