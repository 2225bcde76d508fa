"""What happens to a document after it is issued, in a worker: render, e-mail, post to the ERP.

Each step is recorded on the invoice row (render status, e-mail status and attempts, ERP
enqueued at), so the task is idempotent: run twice, it does each step once. A sweeper
re-enqueues documents with a step still due, so a lost task only delays the work.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.deliveries import delivery_enqueue
from invoicing import verifactu
from invoicing.documents import InvoiceDocument
from invoicing.formats import formats_for
from invoicing.models import BillingRecord, EmailStatus, Invoice, InvoiceFile, RenderStatus, SubmissionStatus
from invoicing.pdf import invoice_pdf_attach_xml, invoice_pdf_render
from invoicing.selectors import invoice_document, invoice_ids_due, invoice_verification_url

logger = logging.getLogger(__name__)

PDF_FORMAT = "pdf"
ERP_EVENT = "invoice.issued"
# Longer than any SMTP exchange: after it, a send that never reported back is retried.
EMAIL_LEASE = timedelta(minutes=10)
ERROR_MAX_CHARS = 2000


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
        if settings.INVOICE_ERP_URL and locked.erp_enqueued_at is None:
            delivery_enqueue(
                target_url=settings.INVOICE_ERP_URL,
                secret=settings.INVOICE_ERP_SECRET,
                event=ERP_EVENT,
                body=invoice_erp_body(invoice=invoice, document=document, xml=cii.content if cii else None),
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


def _email_claim(invoice_id: int) -> Invoice | None:
    """Claim the e-mail step with a lease, in a short transaction; None when it is not due."""
    now = timezone.now()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(skip_locked=True).filter(pk=invoice_id).first()
        if invoice is None or invoice.render_status != RenderStatus.RENDERED:
            return None
        due = invoice.email_status == EmailStatus.PENDING or (
            invoice.email_status == EmailStatus.SENDING
            and invoice.email_lease_until is not None
            and invoice.email_lease_until < now
        )
        if not due:
            return None
        invoice.email_status = EmailStatus.SENDING
        invoice.email_lease_until = now + EMAIL_LEASE
        invoice.email_attempts += 1
        invoice.save(update_fields=["email_status", "email_lease_until", "email_attempts"])
    return invoice


def invoice_email_message(invoice: Invoice) -> EmailMessage:
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
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=invoice.seller_email or settings.DEFAULT_FROM_EMAIL,
        to=[invoice.buyer_email],
    )
    for file in InvoiceFile.objects.filter(invoice=invoice).order_by("format_code"):
        extension = "pdf" if file.format_code == PDF_FORMAT else "xml"
        suffix = "" if file.format_code in (PDF_FORMAT, "factur-x") else f"-{file.format_code}"
        name = "factur-x.xml" if file.format_code == "factur-x" else f"{invoice.number}{suffix}.{extension}"
        message.attach(name, bytes(file.content), file.media_type)
    return message


def invoice_email_send(*, invoice_id: int) -> bool:
    """E-mail the rendered document to the buyer once. True when this call sent it.

    Claimed with a lease first, so a task run twice (or by two workers) sends once; a
    worker that dies mid-send leaves the lease to run out and the sweeper to retry.
    """
    invoice = _email_claim(invoice_id)
    if invoice is None:
        return False
    try:
        invoice_email_message(invoice).send()
    except Exception as error:  # SMTP refusals, timeouts, DNS: all count as a failed attempt
        failed = invoice.email_attempts >= settings.INVOICE_EMAIL_MAX_ATTEMPTS
        Invoice.objects.filter(pk=invoice.pk, email_status=EmailStatus.SENDING).update(
            email_status=EmailStatus.FAILED if failed else EmailStatus.PENDING,
            email_last_error=f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS],
            email_lease_until=None,
        )
        logger.warning("Invoice %s: e-mail attempt %s failed: %s", invoice.number, invoice.email_attempts, error)
        return False
    # Only the claim this call holds: a resend requested meanwhile stays pending and is sent again.
    Invoice.objects.filter(pk=invoice.pk, email_status=EmailStatus.SENDING).update(
        email_status=EmailStatus.SENT, email_sent_at=timezone.now(), email_last_error="", email_lease_until=None
    )
    return True


def billing_record_submit(*, invoice_id: int) -> bool:
    """Hand the document's billing record to the configured submitter (VERIFACTU_SUBMITTER), once.

    None ships: submitting needs the tax agency's online service and a certificate. True
    when this call submitted it; a submitter that raises leaves the record not submitted.
    """
    submitter = verifactu.billing_record_submitter()
    if submitter is None:
        return False
    record = BillingRecord.objects.select_related("invoice").filter(invoice_id=invoice_id).first()
    if record is None or record.submission_status != SubmissionStatus.NOT_SUBMITTED:
        return False
    try:
        submitter(record)
    except Exception:  # the agency's service being down must not stop e-mail and ERP
        logger.exception("Billing record of invoice %s was not submitted.", record.invoice.number)
        return False
    BillingRecord.objects.filter(pk=record.pk).update(submission_status=SubmissionStatus.SUBMITTED)
    return True


def invoice_process(*, invoice_id: int) -> None:
    """The worker's whole job for one document: render, e-mail, submit its billing record.

    Safe to run any number of times: each step is recorded and done once.
    """
    if invoice_render(invoice_id=invoice_id):
        invoice_email_send(invoice_id=invoice_id)
    billing_record_submit(invoice_id=invoice_id)


def invoices_sweep(*, limit: int = 500) -> int:
    """Enqueue every document with a step due (periodic); how many."""
    from invoicing.tasks import invoice_process as invoice_process_task

    ids = invoice_ids_due(limit=limit)
    for invoice_id in ids:
        invoice_process_task.delay(invoice_id)
    return len(ids)
