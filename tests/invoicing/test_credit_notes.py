"""Corrections: credit notes (full, partial, never above what remains) and ticket exchanges."""

from decimal import Decimal

import pytest

from invoicing.calculation import LineInput
from invoicing.exceptions import CreditExceedsRemaining, InvoiceInputError, TicketAlreadyReplaced
from invoicing.models import DocumentKind, Invoice
from invoicing.services import Buyer, CreditLine, invoice_credit, invoice_issue, invoice_ticket_exchange
from tests.factories import CustomerFactory, SellerFactory, invoice_issue_for

pytestmark = pytest.mark.django_db

BUYER = Buyer(
    name="Ana García", tax_id="12345678Z", country="ES", street="Calle Luna 3", city="Sevilla", postal_code="41001"
)


def test_a_full_credit_note_references_and_mirrors_the_invoice() -> None:
    invoice = invoice_issue_for(lines=[("2", "30.00", "21"), ("1", "11.00", "10")], source_reference="W-7")
    credit = invoice_credit(invoice=invoice, reason="Order cancelled")
    assert (credit.kind, credit.original, credit.reason) == (DocumentKind.CREDIT_NOTE, invoice, "Order cancelled")
    assert credit.number.startswith("R")
    assert (credit.payable_total, credit.tax_total, credit.source_reference) == (
        invoice.payable_total,
        invoice.tax_total,
        "W-7",
    )
    assert [line.original_line for line in credit.lines.all()] == list(invoice.lines.all())


def test_a_partial_credit_note_credits_the_units_returned() -> None:
    invoice = invoice_issue_for(lines=[("3", "20.00", "21"), ("1", "5.00", "21")])
    first = invoice.lines.get(position=1)
    credit = invoice_credit(invoice=invoice, lines=[CreditLine(line_id=first.pk, quantity=Decimal(1))])
    assert credit.payable_total == Decimal("20.00")
    assert credit.lines.get().quantity == Decimal(1)


def test_the_discount_is_shared_so_partial_credits_add_up_to_the_line() -> None:
    invoice = invoice_issue(
        seller=SellerFactory.create(),
        buyer=Buyer(email="ana@example.com"),
        lines=[
            LineInput(
                description="Jeans",
                quantity=Decimal(3),
                unit_price=Decimal("10.00"),
                tax_rate=Decimal(21),
                discount=Decimal("1.00"),
            )
        ],
    )
    line = invoice.lines.get()
    credits = [
        invoice_credit(invoice=invoice, lines=[CreditLine(line_id=line.pk, quantity=Decimal(1))]) for _ in range(3)
    ]
    assert sum(c.payable_total for c in credits) == invoice.payable_total == Decimal("29.00")


def test_a_credit_above_the_remaining_quantity_is_refused_and_nothing_is_written() -> None:
    invoice = invoice_issue_for(lines=[("2", "30.00", "21")])
    line = invoice.lines.get()
    invoice_credit(invoice=invoice, lines=[CreditLine(line_id=line.pk, quantity=Decimal(1))])
    with pytest.raises(CreditExceedsRemaining) as excinfo:
        invoice_credit(invoice=invoice, lines=[CreditLine(line_id=line.pk, quantity=Decimal(2))])
    assert excinfo.value.extra["remaining"] == "1.000"
    assert invoice.credit_notes.count() == 1


def test_nothing_remains_to_credit_after_a_full_credit_note() -> None:
    invoice = invoice_issue_for()
    invoice_credit(invoice=invoice)
    with pytest.raises(CreditExceedsRemaining):
        invoice_credit(invoice=invoice)


@pytest.mark.parametrize("quantity", ["0", "-1"])
def test_a_credit_of_no_or_negative_units_is_refused(quantity: str) -> None:
    invoice = invoice_issue_for()
    with pytest.raises(InvoiceInputError):
        invoice_credit(invoice=invoice, lines=[CreditLine(line_id=invoice.lines.get().pk, quantity=Decimal(quantity))])
    assert not invoice.credit_notes.exists()


def test_a_line_of_another_invoice_cannot_be_credited() -> None:
    invoice, other = invoice_issue_for(), invoice_issue_for()
    with pytest.raises(InvoiceInputError) as excinfo:
        invoice_credit(invoice=invoice, lines=[CreditLine(line_id=other.lines.get().pk, quantity=Decimal(1))])
    assert "lines[0]" in excinfo.value.fields


def test_a_credit_note_cannot_itself_be_credited() -> None:
    credit = invoice_credit(invoice=invoice_issue_for())
    with pytest.raises(InvoiceInputError):
        invoice_credit(invoice=credit)


def test_a_ticket_is_exchanged_for_a_full_invoice_that_references_it() -> None:
    customer = CustomerFactory.create()
    ticket = invoice_issue_for(lines=[("2", "15.00", "21")], customer=customer, source_reference="S-12")
    full = invoice_ticket_exchange(ticket=ticket, buyer=BUYER)
    assert (full.kind, full.replaces, full.buyer_tax_id, full.customer) == (
        DocumentKind.INVOICE,
        ticket,
        "12345678Z",
        customer,
    )
    assert (full.payable_total, full.source_reference) == (ticket.payable_total, "S-12")


def test_a_ticket_can_never_be_exchanged_twice() -> None:
    ticket = invoice_issue_for()
    invoice_ticket_exchange(ticket=ticket, buyer=BUYER)
    with pytest.raises(TicketAlreadyReplaced):
        invoice_ticket_exchange(ticket=ticket, buyer=BUYER)
    assert Invoice.objects.filter(replaces=ticket).count() == 1


def test_only_a_ticket_can_be_exchanged() -> None:
    full = invoice_issue_for(tax_id="12345678Z")
    with pytest.raises(InvoiceInputError):
        invoice_ticket_exchange(ticket=full, buyer=BUYER)


def test_the_exchange_needs_a_valid_tax_id() -> None:
    ticket = invoice_issue_for()
    with pytest.raises(InvoiceInputError):
        invoice_ticket_exchange(ticket=ticket, buyer=Buyer(**{**BUYER.__dict__, "tax_id": "12345678A"}))
    assert not Invoice.objects.filter(replaces=ticket).exists()


def test_an_exchanged_ticket_is_credited_through_its_full_invoice() -> None:
    ticket = invoice_issue_for()
    invoice_ticket_exchange(ticket=ticket, buyer=BUYER)
    with pytest.raises(InvoiceInputError) as excinfo:
        invoice_credit(invoice=ticket)
    assert excinfo.value.code == "ticket_replaced"
