"""What happens to a document after it is issued, in a worker: render, e-mail, post to the ERP.

Rendering and the ERP hand-off are recorded on the invoice row (render status, ERP enqueued
at), so the task is idempotent: run twice, it does each step once; the invoicing sweeper
re-enqueues documents not rendered yet. The e-mail to the buyer is an outbox message
(`config.outbox`, kind `invoice.email`, one per document), written when the document is
rendered and sent by the outbox: claimed with a lease, retried with backoff, a dead letter
after `INVOICE_EMAIL_MAX_ATTEMPTS`. Its handler, registered by `InvoicingConfig.ready()`,
builds the e-mail at send time in the buyer's language, with the stored PDF and XML files.

Spain's VeriFactu: with a submitter configured (VERIFACTU_SUBMITTER), each billing record's
submission to the tax agency is an outbox message too (kind `verifactu.submission`, one per
record), written with the record when the document is issued. Its handler calls the
submitter; a submitter that raises is retried with backoff, and a dead letter waits for
staff to replay it. The chain is kept: a record is not submitted before the previous one of
its issuer was (the handler waits, and the previous one's success sends the next at once).
With no submitter, records wait as not submitted; the invoicing sweeper owes the submission
of those once a submitter is configured.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.models import OutboxMessage, OutboxStatus
from config.outbox import (
    Email,
    EmailHandler,
    OutboxDefer,
    OutboxHandler,
    Outcome,
    outbox_enqueue,
    outbox_expedite,
    webhook_enqueue,
)
from customers.services.privacy import customer_outbox_subject
from invoicing import verifactu
from invoicing.documents import InvoiceDocument
from invoicing.formats import formats_for
from invoicing.models import BillingRecord, Invoice, InvoiceFile, RenderStatus, SubmissionStatus
from invoicing.pdf import invoice_pdf_attach_xml, invoice_pdf_render
from invoicing.selectors import (
    INVOICE_EMAIL,
    VERIFACTU_SUBMISSION,
    billing_record_ids_unsubmitted_unowed,
    billing_record_submission_key,
    invoice_document,
    invoice_email_key,
    invoice_ids_due,
    invoice_verification_url,
)

logger = logging.getLogger(__name__)

PDF_FORMAT = "pdf"
ERP_EVENT = "invoice.issued"
# The named target of submissions: Spain's tax agency (Agencia Tributaria).
VERIFACTU_TARGET = "verifactu"
# Longer than the agency's service takes to answer: after it, a submission that never reported back is retried.
SUBMISSION_LEASE = timedelta(minutes=10)
# With no submitter configured, a submission owed waits this long before it looks again.
NO_SUBMITTER_WAIT = timedelta(hours=1)


def _invoice_loaded(invoice_id: int) -> Invoice:
    return (
        Invoice.objects.select_related("seller", "original", "replaces")
        .prefetch_related("lines", "taxes")
        .get(pk=invoice_id)
    )


def _logo(invoice: Invoice) -> tuple[bytes | None, str]:
    logo = invoice.seller.logo
    if not logo:
        return None, ""
    name = (logo.name or "").lower()
    media_type = (
        "image/svg+xml" if name.endswith(".svg") else "image/jpeg" if name.endswith((".jpg", ".jpeg")) else "image/png"
    )
    try:
        with logo.open("rb") as handle:
            return handle.read(), media_type
    except OSError:
        logger.warning("Logo of seller %s is missing; rendering without it.", invoice.seller_id)
        return None, ""


def invoice_render(*, invoice_id: int) -> bool:
    """Build and validate the XML formats, render the PDF (Factur-X when there is CII), store them.

    Nothing is stored unless every XML passes its schema and the EN 16931 rules; a document
    whose XML fails is marked failed with the findings, for staff to see. True once rendered.
    """
    invoice = _invoice_loaded(invoice_id)
    if invoice.render_status != RenderStatus.PENDING:
        return invoice.render_status == RenderStatus.RENDERED
    document = invoice_document(invoice)
    renditions = [invoice_format.render(document) for invoice_format in formats_for(document)]
    findings = [
        {"format": rendition.format_code, "rule": finding.rule, "message": finding.message}
        for rendition in renditions
        for finding in rendition.findings
    ]
    if findings:
        logger.error("Invoice %s: its XML failed validation: %s", invoice.number, findings)
        Invoice.objects.filter(pk=invoice.pk, render_status=RenderStatus.PENDING).update(
            render_status=RenderStatus.FAILED, render_findings=findings
        )
        return False
    logo, logo_media_type = _logo(invoice)
    pdf = invoice_pdf_render(
        document, verification_url=invoice_verification_url(invoice), logo=logo, logo_media_type=logo_media_type
    )
    cii = next((r for r in renditions if r.format_code == "factur-x"), None)
    if cii is not None:
        pdf = invoice_pdf_attach_xml(pdf, cii.content, language=document.language)
    files = [(PDF_FORMAT, "application/pdf", pdf)]
    files += [(r.format_code, "application/xml", r.content) for r in renditions]
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        if locked.render_status != RenderStatus.PENDING:
            return locked.render_status == RenderStatus.RENDERED
        InvoiceFile.objects.bulk_create(
            InvoiceFile(
                invoice=locked,
                format_code=code,
                media_type=media_type,
                content=content,
                sha256=hashlib.sha256(content).hexdigest(),
            )
            for code, media_type, content in files
        )
        locked.render_status = RenderStatus.RENDERED
        locked.rendered_at = timezone.now()
        locked.render_findings = []
        locked.save(update_fields=["render_status", "rendered_at", "render_findings"])
        invoice_email_enqueue(invoice=locked)
        if settings.INVOICE_ERP_URL and locked.erp_enqueued_at is None:
            webhook_enqueue(
                target_url=settings.INVOICE_ERP_URL,
                secret=settings.INVOICE_ERP_SECRET,
                event=ERP_EVENT,
                body=invoice_erp_body(invoice=invoice, document=document, xml=cii.content if cii else None),
                # The buyer's details are the fiscal document's: the ERP's copy is owed even after an erasure.
                subject=customer_outbox_subject(locked.customer_id) if locked.customer_id else "",
                owed_after_erasure=True,
            )
            locked.erp_enqueued_at = timezone.now()
            locked.save(update_fields=["erp_enqueued_at"])
    return True


def invoice_erp_body(*, invoice: Invoice, document: InvoiceDocument, xml: bytes | None) -> dict[str, Any]:
    """What the ERP receives: the document's data, and its Factur-X XML when it has one."""
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "issue_date": invoice.issue_date,
        "currency": invoice.currency,
        "seller": {"name": invoice.seller_name, "tax_id": invoice.seller_tax_id, "country": invoice.seller_country},
        "buyer": {"name": invoice.buyer_name, "tax_id": invoice.buyer_tax_id, "country": invoice.buyer_country},
        "customer_id": invoice.customer_id,
        "source_reference": invoice.source_reference,
        "original_number": document.preceding_number,
        "replaced_number": document.replaced_number,
        "lines": [
            {
                "sku": line.sku,
                "description": line.description,
                "quantity": line.quantity,
                "net_unit_price": line.net_unit_price,
                "net_amount": line.net_amount,
                "tax_rate": line.tax_rate,
            }
            for line in document.lines
        ],
        "taxes": [
            {"rate": tax.tax_rate, "taxable_amount": tax.taxable_amount, "tax_amount": tax.tax_amount}
            for tax in document.taxes
        ],
        "line_total": invoice.line_total,
        "tax_total": invoice.tax_total,
        "grand_total": invoice.grand_total,
        "rounding_amount": invoice.rounding_amount,
        "payable_total": invoice.payable_total,
        "xml": xml.decode() if xml else None,
    }


def invoice_email_enqueue(*, invoice: Invoice) -> OutboxMessage | None:
    """Owe the buyer the document's e-mail (once per document), in the caller's transaction.

    None when the buyer gave no address. Written when the document is rendered: the e-mail
    carries its files.
    """
    if not invoice.buyer_email:
        return None
    return outbox_enqueue(
        kind=INVOICE_EMAIL,
        target=invoice.buyer_email,
        event=invoice.kind,
        body={"invoice": invoice.pk, "number": invoice.number},
        dedupe_key=invoice_email_key(invoice.pk),
        language=invoice.language,
        subject=customer_outbox_subject(invoice.customer_id) if invoice.customer_id else "",
    )


def invoice_email(invoice: Invoice) -> Email:
    """The e-mail to the buyer, in the buyer's language, with the PDF and the XML files."""
    with translation.override(invoice.language):
        subject = _("%(kind)s %(number)s from %(seller)s") % {
            "kind": invoice.get_kind_display(),
            "number": invoice.number,
            "seller": invoice.seller_name,
        }
        body = _(
            "Hello %(name)s,\n\nattached is %(kind)s %(number)s of %(date)s.\n\nThank you for shopping with %(seller)s."
        ) % {
            "name": invoice.buyer_name or _("customer"),
            "kind": invoice.get_kind_display().lower(),
            "number": invoice.number,
            "date": invoice.issue_date.strftime("%d/%m/%Y"),
            "seller": invoice.seller_name,
        }
    attachments = []
    for file in InvoiceFile.objects.filter(invoice=invoice).order_by("format_code"):
        extension = "pdf" if file.format_code == PDF_FORMAT else "xml"
        suffix = "" if file.format_code in (PDF_FORMAT, "factur-x") else f"-{file.format_code}"
        name = "factur-x.xml" if file.format_code == "factur-x" else f"{invoice.number}{suffix}.{extension}"
        attachments.append((name, bytes(file.content), file.media_type))
    return Email(
        subject=subject,
        text=body,
        from_email=invoice.seller_email or settings.DEFAULT_FROM_EMAIL,
        to=[invoice.buyer_email],
        attachments=attachments,
    )


class InvoiceEmailHandler(EmailHandler):
    """The outbox's `invoice.email`: the document's e-mail, built from its stored files when it is sent."""

    kind = INVOICE_EMAIL
    max_attempts_setting = "INVOICE_EMAIL_MAX_ATTEMPTS"
    body_is_reference = True  # the document's id and number; the address is the document's

    def email(self, message: OutboxMessage) -> Email:
        invoice = Invoice.objects.get(pk=message.body["invoice"])
        return invoice_email(invoice)


def billing_record_submission_enqueue(*, record: BillingRecord) -> OutboxMessage | None:
    """Owe the tax agency the record's submission (once per record), in the caller's transaction.

    None when no submitter is configured: the record waits as not submitted.
    """
    if verifactu.billing_record_submitter() is None:
        return None
    return outbox_enqueue(
        kind=VERIFACTU_SUBMISSION,
        target=VERIFACTU_TARGET,
        event=record.record_type,
        body={
            "billing_record": record.pk,
            "issuer": record.issuer_tax_id,
            "position": record.position,
            "invoice": record.invoice_id,
        },
        dedupe_key=billing_record_submission_key(record.pk),
    )


class BillingRecordSubmissionHandler(OutboxHandler):
    """The outbox's `verifactu.submission`: the record handed to the configured submitter, in chain order."""

    kind = VERIFACTU_SUBMISSION
    body_is_reference = True  # the billing record's ids

    def lease(self) -> timedelta:
        return SUBMISSION_LEASE

    def send(self, message: OutboxMessage) -> Outcome:
        submitter = verifactu.billing_record_submitter()
        if submitter is None:
            raise OutboxDefer("No VERIFACTU_SUBMITTER is configured: the record waits.", delay=NO_SUBMITTER_WAIT)
        record = BillingRecord.objects.select_related("invoice", "previous").get(pk=message.body["billing_record"])
        if record.submission_status == SubmissionStatus.SUBMITTED:
            return Outcome()
        previous = record.previous
        if previous is not None and previous.submission_status != SubmissionStatus.SUBMITTED:
            raise OutboxDefer(f"Record {previous.position} of {record.issuer_tax_id} is not submitted yet.")
        submitter(record)
        return Outcome()

    def settled(self, message: OutboxMessage, outcome: Outcome) -> None:
        if message.status != OutboxStatus.SENT:
            return
        record_id = message.body["billing_record"]
        BillingRecord.objects.filter(pk=record_id, submission_status=SubmissionStatus.NOT_SUBMITTED).update(
            submission_status=SubmissionStatus.SUBMITTED
        )
        # The next record of the chain may be waiting for this one: it goes now.
        following = BillingRecord.objects.filter(previous_id=record_id).values_list("pk", flat=True).first()
        if following is not None:
            outbox_expedite(kind=VERIFACTU_SUBMISSION, dedupe_key=billing_record_submission_key(following))


def billing_record_submissions_enqueue(*, limit: int = 500) -> int:
    """Owe the submissions of records issued while no submitter was configured, once one is; how many."""
    if verifactu.billing_record_submitter() is None:
        return 0
    ids = billing_record_ids_unsubmitted_unowed(limit=limit)
    for record in BillingRecord.objects.filter(pk__in=ids).order_by("issuer_tax_id", "position"):
        try:
            with transaction.atomic():
                billing_record_submission_enqueue(record=record)
        except IntegrityError:
            # An overlapping sweep owed it between our check and our insert: owed once, as asked.
            continue
    return len(ids)


def invoice_process(*, invoice_id: int) -> None:
    """The worker's whole job for one document: render it (its e-mail and submission are then the outbox's).

    Safe to run any number of times: rendering is recorded and done once. Rendering owes the
    e-mail in the outbox, whose own task, enqueued when rendering commits, sends it.
    """
    invoice_render(invoice_id=invoice_id)


def invoices_sweep(*, limit: int = 500) -> int:
    """Enqueue every document not rendered yet, owe the submissions not owed yet (periodic); how many.

    The outbox sweeps the e-mails and the submissions themselves.
    """
    from invoicing.tasks import invoice_process as invoice_process_task

    ids = invoice_ids_due(limit=limit)
    for invoice_id in ids:
        invoice_process_task.delay(invoice_id)
    return len(ids) + billing_record_submissions_enqueue(limit=limit)
