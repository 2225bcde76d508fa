"""Issuing fiscal documents: invoices, simplified invoices, credit notes, ticket exchanges.

Every document is issued the same way (`_document_issue`), inside the caller's
transaction (e.g. the order's payment):
1. lock the seller row: its billing record chain has one head at a time;
2. lock the series row and take the next number: a rollback gives the number back;
3. write the document, its lines, its tax breakdown and its billing record;
4. after commit, a worker renders the PDF and XML, e-mails them and posts them to the ERP.
Rendering never runs here: the lock is held for a few inserts, not for a PDF.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from config.models import ChannelClient
from config.money import currency_exponent, money_round
from config.outbox import outbox_replay
from config.transactions import use_case
from customers.models import Customer
from customers.tax_ids import tax_id_normalise
from invoicing import verifactu
from invoicing.calculation import LineInput, Totals, invoice_totals_compute
from invoicing.delivery import billing_record_submission_enqueue
from invoicing.exceptions import (
    CreditExceedsRemaining,
    InvoiceErrorCode,
    InvoiceInputError,
    TicketAlreadyReplaced,
)
from invoicing.limits import simplified_invoice_allowed, simplified_invoice_limit
from invoicing.models import (
    DEFAULT_PREFIXES,
    BillingRecord,
    BillingRecordType,
    DocumentKind,
    Invoice,
    InvoiceLine,
    InvoiceSeries,
    InvoiceTax,
    Seller,
)
from invoicing.selectors import invoice_email_message
from invoicing.tasks import invoice_process


@dataclass(frozen=True)
class Buyer:
    """Who the document is for, as the channel gives it. Without a tax id: a simplified invoice."""

    name: str = ""
    tax_id: str = ""
    country: str = ""
    street: str = ""
    city: str = ""
    postal_code: str = ""
    email: str = ""
    language: str = ""


@dataclass(frozen=True)
class CreditLine:
    """Part of an issued line to credit (e.g. the units returned)."""

    line_id: int
    quantity: Decimal


def _language(value: str) -> str:
    languages = dict(settings.LANGUAGES)
    code = (value or "").split("-")[0].lower()
    return code if code in languages else settings.LANGUAGE_CODE.split("-")[0]


def _buyer_checked(buyer: Buyer, *, full: bool) -> Buyer:
    """The buyer with a validated, compacted tax id; a full invoice also needs name, country and address."""
    country = buyer.country.strip().upper()
    errors: dict[str, list[str]] = {}
    if country and (len(country) != 2 or not country.isalpha()):
        errors["country"] = [_("Use the two-letter ISO 3166 code, e.g. ES.")]
    tax_id = ""
    if buyer.tax_id.strip():
        try:
            tax_id = tax_id_normalise(buyer.tax_id, country)
        except ValidationError as error:
            errors["tax_id"] = list(error.messages)
    if full:
        required = {
            "name": (buyer.name, _("name")),
            "country": (country, _("country")),
            "street": (buyer.street, _("street")),
            "city": (buyer.city, _("city")),
            "postal_code": (buyer.postal_code, _("postal code")),
            "tax_id": (buyer.tax_id, _("tax id")),
        }
        for name, (value, label) in required.items():
            if not value.strip():
                errors.setdefault(name, []).append(_("A full invoice needs the buyer's %(field)s.") % {"field": label})
    if errors:
        raise InvoiceInputError(
            _("The buyer's details are not valid."), code=InvoiceErrorCode.INVALID_BUYER, fields=errors
        )
    return replace(
        buyer,
        name=buyer.name.strip(),
        tax_id=tax_id,
        country=country,
        email=buyer.email.strip(),
        language=_language(buyer.language),
    )


def _series_locked(*, seller: Seller, kind: str, fiscal_year: int) -> InvoiceSeries:
    series, _created = InvoiceSeries.objects.get_or_create(
        seller=seller, kind=kind, fiscal_year=fiscal_year, defaults={"prefix": DEFAULT_PREFIXES[DocumentKind(kind)]}
    )
    return InvoiceSeries.objects.select_for_update().get(pk=series.pk)


def _record_type(kind: str, *, original: Invoice | None, replaces: Invoice | None) -> str:
    if kind == DocumentKind.CREDIT_NOTE:
        # A credit note always has its original (the database checks it too).
        simplified = original is not None and original.kind == DocumentKind.SIMPLIFIED
        return BillingRecordType.R5 if simplified else BillingRecordType.R1
    if kind == DocumentKind.SIMPLIFIED:
        return BillingRecordType.F2
    return BillingRecordType.F3 if replaces is not None else BillingRecordType.F1


def _billing_record_append(*, invoice: Invoice, record_type: str) -> BillingRecord:
    """Chain the document's registration record to its issuer's last one (the seller row is locked)."""
    previous = BillingRecord.objects.filter(issuer_tax_id=invoice.seller_tax_id).order_by("-position").first()
    # Credit notes by difference carry negative amounts in the record.
    sign = Decimal(-1) if invoice.is_credit_note else Decimal(1)
    generated_at = verifactu.generated_at_text(invoice.issued_at)
    hashed_input = verifactu.fingerprint_input(
        issuer_tax_id=invoice.seller_tax_id,
        number=invoice.number,
        issue_date=verifactu.date_text(invoice.issue_date),
        record_type=record_type,
        tax_total=verifactu.amount_text(sign * invoice.tax_total),
        grand_total=verifactu.amount_text(sign * invoice.grand_total),
        previous_fingerprint=previous.fingerprint if previous else "",
        generated_at=generated_at,
    )
    return BillingRecord.objects.create(
        invoice=invoice,
        issuer_tax_id=invoice.seller_tax_id,
        position=previous.position + 1 if previous else 1,
        previous=previous,
        record_type=record_type,
        hashed_input=hashed_input,
        fingerprint=verifactu.fingerprint(hashed_input),
        generated_at=generated_at,
    )


def _document_issue(
    *,
    seller: Seller,
    kind: str,
    buyer: Buyer,
    lines: Sequence[LineInput],
    totals: Totals,
    currency: str,
    prices_include_tax: bool,
    customer: Customer | None,
    issued_by: ChannelClient | None,
    source_reference: str,
    paid_amount: Decimal,
    original: Invoice | None = None,
    replaces: Invoice | None = None,
    original_lines: Sequence[InvoiceLine | None] = (),
    reason: str = "",
) -> Invoice:
    issued_at = timezone.now()
    issue_date = timezone.localdate(issued_at)
    with transaction.atomic():
        seller = Seller.objects.select_for_update().get(pk=seller.pk)
        series = _series_locked(seller=seller, kind=kind, fiscal_year=issue_date.year)
        series.last_number += 1
        series.save(update_fields=["last_number"])
        invoice = Invoice.objects.create(
            seller=seller,
            series=series,
            kind=kind,
            sequence=series.last_number,
            number=series.format_number(series.last_number),
            issue_date=issue_date,
            issued_at=issued_at,
            currency=currency,
            prices_include_tax=prices_include_tax,
            language=buyer.language,
            seller_name=seller.name,
            seller_tax_id=seller.tax_id,
            seller_street=seller.street,
            seller_city=seller.city,
            seller_postal_code=seller.postal_code,
            seller_country=seller.country,
            seller_email=seller.email,
            buyer_name=buyer.name,
            buyer_tax_id=buyer.tax_id,
            buyer_street=buyer.street,
            buyer_city=buyer.city,
            buyer_postal_code=buyer.postal_code,
            buyer_country=buyer.country,
            buyer_email=buyer.email,
            customer=customer,
            source_reference=source_reference,
            issued_by=issued_by,
            original=original,
            replaces=replaces,
            reason=reason,
            line_total=totals.line_total,
            tax_total=totals.tax_total,
            grand_total=totals.grand_total,
            rounding_amount=totals.rounding_amount,
            payable_total=totals.payable_total,
            paid_amount=paid_amount,
        )
        InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                position=position,
                sku=line.source.sku,
                description=line.source.description,
                quantity=line.source.quantity,
                unit_price=line.source.unit_price,
                discount=line.source.discount,
                tax_rate=line.source.tax_rate,
                gross_amount=line.gross_amount,
                net_amount=line.net_amount,
                allowance_amount=line.allowance_amount,
                net_unit_price=line.net_unit_price,
                original_line=original_lines[position - 1] if original_lines else None,
            )
            for position, line in enumerate(totals.lines, start=1)
        )
        InvoiceTax.objects.bulk_create(
            InvoiceTax(
                invoice=invoice,
                tax_category=tax.tax_category,
                tax_rate=tax.tax_rate,
                taxable_amount=tax.taxable_amount,
                tax_amount=tax.tax_amount,
            )
            for tax in totals.taxes
        )
        record = _billing_record_append(
            invoice=invoice, record_type=_record_type(kind, original=original, replaces=replaces)
        )
        billing_record_submission_enqueue(record=record)
        if settings.INVOICE_PROCESS_ON_COMMIT:
            transaction.on_commit(partial(invoice_process.delay, invoice.pk))
    return invoice


def _currency_checked(currency: str) -> str:
    currency = currency.upper()
    try:
        currency_exponent(currency)
    except ValueError:
        raise InvoiceInputError(
            _("Unsupported currency."),
            code=InvoiceErrorCode.INVALID_CURRENCY,
            fields={"currency": [_("Unsupported currency.")]},
        ) from None
    return currency


def _simplified_within_limit(*, seller: Seller, total: Decimal, currency: str) -> None:
    """A ticket above the seller country's limit is refused: the buyer's tax id makes it a full invoice."""
    if simplified_invoice_allowed(country=seller.country, total=total, currency=currency):
        return
    limit = simplified_invoice_limit(country=seller.country)
    assert limit is not None  # noqa: S101 (allowed without a limit)
    raise InvoiceInputError(
        _(
            "A simplified invoice may be for at most %(limit)s %(currency)s: "
            "give the buyer's tax id, name and address for a full invoice."
        )
        % {"limit": limit.amount, "currency": limit.currency},
        code=InvoiceErrorCode.SIMPLIFIED_OVER_LIMIT,
        fields={
            "tax_id": [
                _("Required above %(limit)s %(currency)s.") % {"limit": limit.amount, "currency": limit.currency}
            ]
        },
        extra={"limit": str(limit.amount)},
    )


def invoice_issue(
    *,
    seller: Seller,
    buyer: Buyer,
    lines: Sequence[LineInput],
    currency: str | None = None,
    source_reference: str = "",
    customer: Customer | None = None,
    issued_by: ChannelClient | None = None,
    prices_include_tax: bool = True,
    paid_amount: Decimal | None = None,
) -> Invoice:
    """Issue an invoice: a full one when the buyer gives a tax id, else a simplified invoice (ticket).

    A ticket above the limit of the seller's country (invoicing.limits) is refused
    (`simplified_over_limit`): the buyer's tax id, name and address make it a full invoice.

    Runs inside the caller's transaction when there is one (number and totals are assigned
    there); rendering and e-mail follow the commit. `paid_amount` defaults to everything:
    retail documents are issued when payment is complete.
    """
    currency = _currency_checked(currency or settings.DEFAULT_CURRENCY)
    full = bool(buyer.tax_id.strip())
    buyer = _buyer_checked(buyer, full=full)
    totals = invoice_totals_compute(lines=lines, currency=currency, prices_include_tax=prices_include_tax)
    paid = totals.payable_total if paid_amount is None else money_round(paid_amount, currency)
    if not (0 <= paid <= totals.payable_total):
        raise InvoiceInputError(
            _("The paid amount must be between zero and the amount payable."),
            code=InvoiceErrorCode.INVALID_PAID_AMOUNT,
            fields={"paid_amount": [_("Out of range.")]},
        )
    if not full:
        _simplified_within_limit(seller=seller, total=totals.payable_total, currency=currency)
    return _document_issue(
        seller=seller,
        kind=DocumentKind.INVOICE if full else DocumentKind.SIMPLIFIED,
        buyer=buyer,
        lines=lines,
        totals=totals,
        currency=currency,
        prices_include_tax=prices_include_tax,
        customer=customer,
        issued_by=issued_by,
        source_reference=source_reference,
        paid_amount=paid,
    )


def _buyer_of(invoice: Invoice) -> Buyer:
    return Buyer(
        name=invoice.buyer_name,
        tax_id=invoice.buyer_tax_id,
        country=invoice.buyer_country,
        street=invoice.buyer_street,
        city=invoice.buyer_city,
        postal_code=invoice.buyer_postal_code,
        email=invoice.buyer_email,
        language=invoice.language,
    )


def _remaining_by_line(invoice: Invoice) -> dict[int, tuple[InvoiceLine, Decimal, Decimal]]:
    """Each line of `invoice` with the quantity and discount not yet credited."""
    credited: dict[int, tuple[Decimal, Decimal]] = defaultdict(lambda: (Decimal(0), Decimal(0)))
    for row in (
        InvoiceLine.objects.filter(original_line__invoice=invoice)
        .values("original_line_id")
        .annotate(quantity=Sum("quantity"), discount=Sum("discount"))
    ):
        credited[row["original_line_id"]] = (row["quantity"], row["discount"])
    return {
        line.pk: (line, line.quantity - credited[line.pk][0], line.discount - credited[line.pk][1])
        for line in invoice.lines.order_by("position")
    }


@use_case
def invoice_credit(
    *,
    invoice: Invoice,
    lines: Sequence[CreditLine] | None = None,
    reason: str = "",
    issued_by: ChannelClient | None = None,
    source_reference: str = "",
    follow_exchange: bool = False,
) -> Invoice:
    """Issue a credit note for all that remains of `invoice` (lines=None) or for part of its lines.

    The original is locked while the credit is computed, so two returns crediting the same
    invoice at once cannot credit more than it holds between them.

    A ticket exchanged for a full invoice is refused (`ticket_replaced`), unless `follow_exchange`
    and the whole of it is credited (lines=None): then the full invoice that replaced it is the
    one credited (a cancelled order whose customer asked for an invoice). The ticket is locked
    first, as the exchange locks it, so an exchange cannot slip in between.
    """
    original = Invoice.objects.select_for_update().select_related("seller").get(pk=invoice.pk)
    if original.kind == DocumentKind.CREDIT_NOTE:
        raise InvoiceInputError(
            _("A credit note cannot itself be credited."), code=InvoiceErrorCode.CREDIT_OF_CREDIT_NOTE
        )
    if follow_exchange and lines is None:
        replacing = Invoice.objects.select_for_update().select_related("seller").filter(replaces=original).first()
        original = replacing or original
    if Invoice.objects.filter(replaces=original).exists():
        raise InvoiceInputError(
            _("This simplified invoice was exchanged: credit the full invoice that replaced it."),
            code=InvoiceErrorCode.TICKET_REPLACED,
        )
    remaining = _remaining_by_line(original)
    if lines is None:
        wanted = [CreditLine(line_id=pk, quantity=left) for pk, (_line, left, _d) in remaining.items() if left > 0]
        if not wanted:
            raise CreditExceedsRemaining(
                _("Nothing remains to be credited on %(number)s.") % {"number": original.number}
            )
    else:
        wanted = list(lines)
    errors: dict[str, list[str]] = {}
    credit_inputs: list[LineInput] = []
    originals: list[InvoiceLine] = []
    for index, wanted_line in enumerate(wanted):
        if wanted_line.line_id not in remaining:
            errors[f"lines[{index}]"] = [_("This line is not on the invoice.")]
            continue
        line, left, discount_left = remaining[wanted_line.line_id]
        if wanted_line.quantity <= 0:
            errors[f"lines[{index}]"] = [_("Quantity must be greater than zero.")]
            continue
        if wanted_line.quantity > left:
            raise CreditExceedsRemaining(
                _("Line %(position)s has only %(left)s left to credit.") % {"position": line.position, "left": left},
                fields={f"lines[{index}]": [_("More than remains.")]},
                extra={"line_id": line.pk, "remaining": str(left)},
            )
        # The last part of a line takes the rest of its discount, so the parts add up exactly.
        share = discount_left if wanted_line.quantity == left else line.discount * wanted_line.quantity / line.quantity
        credit_inputs.append(
            LineInput(
                description=line.description,
                sku=line.sku,
                quantity=wanted_line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                discount=money_round(share, original.currency),
            )
        )
        originals.append(line)
    if errors:
        raise InvoiceInputError(_("Some lines are not valid."), code=InvoiceErrorCode.INVALID_LINES, fields=errors)
    totals = invoice_totals_compute(
        lines=credit_inputs, currency=original.currency, prices_include_tax=original.prices_include_tax
    )
    already = original.credit_notes.aggregate(total=Sum("payable_total"))["total"] or Decimal(0)
    if totals.payable_total > original.payable_total - already:
        raise CreditExceedsRemaining(
            _("The credit would exceed what remains creditable on %(number)s.") % {"number": original.number},
            extra={"remaining": str(original.payable_total - already)},
        )
    return _document_issue(
        seller=original.seller,
        kind=DocumentKind.CREDIT_NOTE,
        buyer=_buyer_of(original),
        lines=credit_inputs,
        totals=totals,
        currency=original.currency,
        prices_include_tax=original.prices_include_tax,
        customer=original.customer,
        # Issued for the client the original was for, whoever asks: its channel keeps reaching it.
        issued_by=issued_by or original.issued_by,
        source_reference=source_reference or original.source_reference,
        paid_amount=totals.payable_total,
        original=original,
        original_lines=originals,
        reason=reason,
    )


@use_case
def invoice_ticket_exchange(*, ticket: Invoice, buyer: Buyer) -> Invoice:
    """Exchange a simplified invoice for a full one once the customer gives a tax id (Spanish practice).

    The full invoice references the ticket; a ticket is replaced at most once (locked here,
    and the database's one-to-one link refuses a second). It is issued for the client the
    ticket was for, whoever asks: the channel of the sale keeps reaching its documents.
    """
    buyer = _buyer_checked(buyer, full=True)
    ticket = Invoice.objects.select_for_update().select_related("seller").get(pk=ticket.pk)
    if ticket.kind != DocumentKind.SIMPLIFIED:
        raise InvoiceInputError(_("Only a simplified invoice can be exchanged."), code=InvoiceErrorCode.NOT_A_TICKET)
    if Invoice.objects.filter(replaces=ticket).exists():
        raise TicketAlreadyReplaced(
            _("Simplified invoice %(number)s was already exchanged.") % {"number": ticket.number}
        )
    if ticket.credit_notes.exists():
        raise InvoiceInputError(
            _("A simplified invoice with credit notes cannot be exchanged."), code=InvoiceErrorCode.TICKET_CREDITED
        )
    lines = [
        LineInput(
            description=line.description,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            discount=line.discount,
        )
        for line in ticket.lines.order_by("position")
    ]
    totals = invoice_totals_compute(lines=lines, currency=ticket.currency, prices_include_tax=ticket.prices_include_tax)
    return _document_issue(
        seller=ticket.seller,
        kind=DocumentKind.INVOICE,
        buyer=replace(buyer, email=buyer.email or ticket.buyer_email),
        lines=lines,
        totals=totals,
        currency=ticket.currency,
        prices_include_tax=ticket.prices_include_tax,
        customer=ticket.customer,
        issued_by=ticket.issued_by,
        source_reference=ticket.source_reference,
        paid_amount=ticket.paid_amount,
        replaces=ticket,
    )


@use_case
def invoice_email_resend(*, invoice: Invoice) -> Invoice:
    """Send the document's e-mail to the buyer again (staff action); a worker sends it after commit.

    Its outbox message is replayed, sent or not, with a fresh count of attempts; a document
    not rendered yet gets its e-mail once it is.
    """
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if not locked.buyer_email:
        raise InvoiceInputError(_("The document has no e-mail address to send to."), code=InvoiceErrorCode.NO_EMAIL)
    message = invoice_email_message(invoice_id=locked.pk)
    if message is None:
        transaction.on_commit(partial(invoice_process.delay, locked.pk))
    else:
        outbox_replay.step(message=message, include_sent=True)
    return locked
