"""Reads: the canonical document of an invoice, who may see which documents, exports, due work."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Case, CharField, Exists, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Now
from django.utils import timezone
from django.utils.translation import gettext as _

from config.models import ChannelClient, OutboxKind, OutboxMessage, OutboxStatus
from invoicing import verifactu
from invoicing.documents import (
    TAX_CATEGORY_STANDARD,
    TAX_CATEGORY_ZERO,
    TYPE_CODE_CREDIT_NOTE,
    TYPE_CODE_INVOICE,
    DocumentLine,
    InvoiceDocument,
    Party,
    TaxSubtotal,
)
from invoicing.exceptions import InvoiceErrorCode, InvoiceInputError
from invoicing.models import (
    BillingRecord,
    DocumentKind,
    EmailStatus,
    Invoice,
    InvoiceFile,
    RenderStatus,
    Seller,
    SubmissionStatus,
)

# The outbox kind of the document's e-mail; its dedupe key is the invoice's id (one e-mail per document).
INVOICE_EMAIL = OutboxKind.INVOICE_EMAIL
# The outbox kind of a billing record's submission to the tax agency; its dedupe key is the record's id.
VERIFACTU_SUBMISSION = OutboxKind.VERIFACTU_SUBMISSION


def seller_default() -> Seller:
    """The seller documents are issued by when the caller names none."""
    seller = _seller_default_or_none()
    if seller is None:
        raise InvoiceInputError(_("No seller is configured: add one in the admin."), code=InvoiceErrorCode.NO_SELLER)
    return seller


def seller_default_country() -> str:
    """The default seller's country (what a buyer's country defaults to in forms); "" with no seller."""
    seller = _seller_default_or_none()
    return seller.country if seller else ""


def _seller_default_or_none() -> Seller | None:
    return Seller.objects.filter(is_default=True).first() or Seller.objects.order_by("pk").first()


def invoice_document(invoice: Invoice) -> InvoiceDocument:
    """The canonical document every format is written from (lines and taxes prefetched or read here)."""
    preceding = invoice.original
    return InvoiceDocument(
        number=invoice.number,
        type_code=TYPE_CODE_CREDIT_NOTE if invoice.is_credit_note else TYPE_CODE_INVOICE,
        issue_date=invoice.issue_date,
        currency=invoice.currency,
        seller=Party(
            name=invoice.seller_name,
            country=invoice.seller_country,
            tax_id=invoice.seller_tax_id,
            street=invoice.seller_street,
            city=invoice.seller_city,
            postal_code=invoice.seller_postal_code,
            email=invoice.seller_email,
        ),
        buyer=Party(
            name=invoice.buyer_name,
            country=invoice.buyer_country,
            tax_id=invoice.buyer_tax_id,
            street=invoice.buyer_street,
            city=invoice.buyer_city,
            postal_code=invoice.buyer_postal_code,
            email=invoice.buyer_email,
        ),
        lines=tuple(
            DocumentLine(
                position=line.position,
                description=line.description,
                quantity=line.quantity.normalize(),
                net_unit_price=line.net_unit_price.normalize(),
                allowance_amount=line.allowance_amount,
                net_amount=line.net_amount,
                tax_rate=line.tax_rate,
                tax_category=TAX_CATEGORY_ZERO if line.tax_rate == 0 else TAX_CATEGORY_STANDARD,
                sku=line.sku,
            )
            for line in invoice.lines.all()
        ),
        taxes=tuple(
            TaxSubtotal(
                tax_category=tax.tax_category,
                tax_rate=tax.tax_rate,
                taxable_amount=tax.taxable_amount,
                tax_amount=tax.tax_amount,
            )
            for tax in invoice.taxes.all()
        ),
        line_total=invoice.line_total,
        tax_basis_total=invoice.line_total,
        tax_total=invoice.tax_total,
        grand_total=invoice.grand_total,
        rounding_amount=invoice.rounding_amount,
        paid_amount=invoice.paid_amount,
        due_amount=invoice.payable_total - invoice.paid_amount,
        language=invoice.language,
        simplified=invoice.kind == DocumentKind.SIMPLIFIED,
        source_reference=invoice.source_reference,
        preceding_number=preceding.number if preceding else "",
        preceding_issue_date=preceding.issue_date if preceding else None,
        replaced_number=invoice.replaces.number if invoice.replaces_id and invoice.replaces else "",
        notes=(invoice.reason,) if invoice.reason else (),
    )


def invoice_verification_url(invoice: Invoice) -> str:
    """The tax agency's verification URL of a document (printed as its QR code)."""
    return verifactu.verification_url(
        issuer_tax_id=invoice.seller_tax_id,
        number=invoice.number,
        issue_date=invoice.issue_date,
        grand_total=-invoice.grand_total if invoice.is_credit_note else invoice.grand_total,
    )


def invoice_list(*, client: ChannelClient | None = None) -> QuerySet[Invoice]:
    """Documents a caller may see: staff (client None) and a client reaching every customer see all;
    any other client sees only the documents issued for it.

    Never "the documents of the customers it served": a client that issues one document for a
    customer (an order placed with her e-mail) would then read all her earlier invoices.
    """
    invoices = invoices_with_email_status(Invoice.objects.select_related("seller", "customer", "original", "replaces"))
    if client is None or client.reaches_all:
        return invoices
    return invoices.filter(issued_by=client)


def invoice_file(*, invoice: Invoice, format_code: str) -> InvoiceFile | None:
    return InvoiceFile.objects.filter(invoice=invoice, format_code=format_code).first()


def invoice_ids_due(*, limit: int = 500) -> list[int]:
    """Documents not rendered yet, for the sweeper. Their e-mail is an outbox message, swept by the outbox."""
    # A document just issued has its task on the way: the sweeper leaves it alone for a while.
    issued_before = timezone.now() - datetime.timedelta(seconds=settings.INVOICE_SWEEP_GRACE_SECONDS)
    return list(
        Invoice.objects.filter(render_status=RenderStatus.PENDING, issued_at__lt=issued_before)
        .order_by("issued_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def invoice_email_key(invoice_id: int) -> str:
    return str(invoice_id)


def invoice_email_message(*, invoice_id: int) -> OutboxMessage | None:
    """The outbox message of the document's e-mail; None until the document is rendered, or without an address."""
    return OutboxMessage.objects.filter(kind=INVOICE_EMAIL, dedupe_key=invoice_email_key(invoice_id)).first()


def _email_status_of_message() -> Case:
    """How the e-mail stands by its outbox message: sent, failed for good, sending while a worker holds its lease, else pending."""
    return Case(
        When(status=OutboxStatus.SENT, then=Value(EmailStatus.SENT)),
        When(status__in=(OutboxStatus.DEAD, OutboxStatus.UNDELIVERABLE), then=Value(EmailStatus.FAILED)),
        When(leased_until__gt=Now(), then=Value(EmailStatus.SENDING)),
        default=Value(EmailStatus.PENDING),
        output_field=CharField(),
    )


def _email_status() -> Coalesce:
    """The document's EmailStatus, read from its e-mail's outbox message (the one reading of it).

    No message yet: pending while the document waits to be rendered, or no address.
    """
    message = OutboxMessage.objects.filter(
        kind=INVOICE_EMAIL, dedupe_key=Cast(OuterRef("pk"), output_field=CharField())
    ).exclude(dedupe_key="")  # the words of the unique index's condition, so the index serves the lookup
    return Coalesce(
        Subquery(message.annotate(email_state=_email_status_of_message()).values("email_state")[:1]),
        Case(
            When(buyer_email="", then=Value(EmailStatus.NO_ADDRESS)),
            default=Value(EmailStatus.PENDING),
            output_field=CharField(),
        ),
        output_field=CharField(),
    )


def invoices_with_email_status(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Each document with `email_status` (an EmailStatus): filter on it for the documents whose e-mail stands so."""
    return invoices.annotate(email_status=_email_status())


def invoice_email_status(*, invoice: Invoice) -> str:
    """The EmailStatus of one document: its `invoices_with_email_status` annotation, else the same read for it now."""
    annotated = getattr(invoice, "email_status", None)
    if annotated is None:
        annotated = (
            Invoice.objects.filter(pk=invoice.pk)
            .annotate(email_status=_email_status())
            .values_list("email_status", flat=True)
            .get()
        )
    return str(annotated)


def billing_record_submission_key(record_id: int) -> str:
    return str(record_id)


def billing_record_ids_unsubmitted_unowed(*, limit: int = 500) -> list[int]:
    """Records not submitted and with no submission owed (issued while no submitter was configured), in chain order."""
    owed = OutboxMessage.objects.filter(
        kind=VERIFACTU_SUBMISSION, dedupe_key=Cast(OuterRef("pk"), output_field=CharField())
    ).exclude(dedupe_key="")  # the words of the unique index's condition, so the index serves the lookup
    return list(
        BillingRecord.objects.filter(submission_status=SubmissionStatus.NOT_SUBMITTED)
        .exclude(Exists(owed))
        .order_by("issuer_tax_id", "position")
        .values_list("pk", flat=True)[:limit]
    )


def invoices_issued_between(*, date_from: datetime.date, date_to: datetime.date) -> QuerySet[Invoice]:
    return Invoice.objects.filter(issue_date__gte=date_from, issue_date__lte=date_to)


def invoices_for_export(*, invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return (
        invoices.select_related("original", "customer")
        .prefetch_related("taxes")
        .order_by("issue_date", "issued_at", "pk")
    )


def billing_chain_breaks(*, batch_size: int = 2000) -> tuple[int, list[verifactu.ChainBreak]]:
    """Walk every issuer's chain in order; (records checked, the first break of each broken chain)."""
    from invoicing.models import BillingRecord

    checked = 0
    breaks: list[verifactu.ChainBreak] = []
    issuers = BillingRecord.objects.order_by("issuer_tax_id").values_list("issuer_tax_id", flat=True).distinct()
    for issuer in issuers:
        records = (
            BillingRecord.objects.filter(issuer_tax_id=issuer)
            .select_related("invoice")
            .order_by("position")
            .iterator(chunk_size=batch_size)
        )
        found = verifactu.chain_verify(records)
        checked += BillingRecord.objects.filter(issuer_tax_id=issuer).count()
        if found is not None:
            breaks.append(found)
    return checked, breaks
