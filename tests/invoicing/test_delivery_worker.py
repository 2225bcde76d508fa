"""The invoice pipeline in a real Celery worker, through Redis, e-mailing a real SMTP server on localhost."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from config.models import OutboxMessage, OutboxStatus
from invoicing.models import EmailStatus, Invoice, InvoiceFile, RenderStatus
from invoicing.selectors import invoice_email_message, invoice_email_status
from invoicing.tasks import invoice_process, invoices_sweep
from tests.celery_worker import eager_off, running_worker, wait_until
from tests.factories import SellerFactory, invoice_issue_for
from tests.smtp import SmtpServer, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BUYER_EMAIL = "ana@example.com"
# A worker's first document compiles the stylesheets and the Schematron (seconds); leave room.
WORKER_TIMEOUT = 60


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def refreshed(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def email_status(invoice: Invoice) -> str:
    return invoice_email_status(invoice=refreshed(invoice))


def email_of(invoice: Invoice) -> OutboxMessage:
    message = invoice_email_message(invoice_id=invoice.pk)
    assert message is not None
    return message


def test_a_real_worker_emails_the_rendered_invoice_once_through_a_real_smtp_server(smtp: SmtpServer) -> None:
    seller = SellerFactory.create()
    invoice = invoice_issue_for(seller, tax_id="12345678Z", email=BUYER_EMAIL)
    queue = f"test-{uuid.uuid4().hex[:8]}"

    # Rendering enqueues the e-mail's outbox task onto the default queue: this worker consumes that one too.
    with running_worker(f"{queue},celery", extra_env=smtp.env), eager_off():
        invoice_process.apply_async(args=(invoice.pk,), queue=queue)
        assert wait_until(
            lambda: len(smtp.messages) == 1 and email_status(invoice) == EmailStatus.SENT,
            timeout=WORKER_TIMEOUT,
        )

        # The same task again (a redelivery, a sweep), then a second document behind it on
        # the one-process worker's queue: once that one is rendered, the repeat has run.
        invoice_process.apply_async(args=(invoice.pk,), queue=queue)
        behind = invoice_issue_for(seller, email="")
        invoice_process.apply_async(args=(behind.pk,), queue=queue)
        assert wait_until(lambda: refreshed(behind).render_status == RenderStatus.RENDERED, timeout=WORKER_TIMEOUT)

    [mail] = smtp.messages
    assert mail.rcpt_tos == (BUYER_EMAIL,)
    assert invoice.number in mail.message["Subject"]
    stored = {file.format_code: bytes(file.content) for file in InvoiceFile.objects.filter(invoice=invoice)}
    attached = mail.attachments()
    pdf_type, pdf = attached[f"{invoice.number}.pdf"]
    assert (pdf_type, pdf[:4]) == ("application/pdf", b"%PDF")
    assert pdf == stored["pdf"]
    assert attached["factur-x.xml"] == ("application/xml", stored["factur-x"])
    assert refreshed(invoice).render_status == RenderStatus.RENDERED
    sent = email_of(invoice)
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 1)
    assert sent.sent_at is not None


def test_a_real_worker_running_the_sweeper_picks_up_a_pending_invoice(smtp: SmtpServer) -> None:
    # Issued with no task enqueued (as if it was lost with a broker): only the sweeper finds it.
    invoice = invoice_issue_for(SellerFactory.create(), email=BUYER_EMAIL)
    assert refreshed(invoice).render_status == RenderStatus.PENDING

    # The sweeper enqueues onto the default queue, so this worker consumes that one.
    # No grace period in the worker: the document was issued a moment ago.
    with running_worker("celery", extra_env={**smtp.env, "INVOICE_SWEEP_GRACE_SECONDS": "0"}), eager_off():
        invoices_sweep.delay()
        assert wait_until(lambda: email_status(invoice) == EmailStatus.SENT, timeout=WORKER_TIMEOUT)

    assert [mail.rcpt_tos for mail in smtp.messages] == [(BUYER_EMAIL,)]
    assert set(InvoiceFile.objects.filter(invoice=invoice).values_list("format_code", flat=True)) == {"pdf"}
