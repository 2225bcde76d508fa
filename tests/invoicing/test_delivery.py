"""What a worker does with an issued document, run in-process: render and store, e-mail, post to the ERP, sweep.

The e-mail is an outbox message (config.outbox): the outbox's own rules are in tests/config/test_outbox.py.

The functions of `invoicing.delivery` are called directly (tasks run eagerly); mail goes
to Django's locmem outbox unless a test points the mailer at a real socket.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import facturx
import pypdf
import pytest
from django.core import mail
from django.db import transaction
from django.test import TestCase
from django.utils import timezone
from django.utils.translation import trans_real
from lxml import etree

from config.models import OutboxKind, OutboxMessage, OutboxStatus
from config.outbox import outbox_send
from config.selectors import outbox_message_ids_due
from config.tasks import outbox_sweep
from invoicing.calculation import LineInput
from invoicing.delivery import ERP_EVENT, invoice_process, invoice_render, invoices_sweep
from invoicing.documents import InvoiceDocument
from invoicing.exceptions import InvoiceInputError
from invoicing.formats.base import formats_registered
from invoicing.formats.cii import FacturXCiiFormat
from invoicing.models import EmailStatus, Invoice, InvoiceFile, RenderStatus, Seller
from invoicing.selectors import invoice_email_message, invoice_email_status, invoice_ids_due, invoice_list
from invoicing.services import Buyer, invoice_email_resend, invoice_issue
from tests.factories import SellerFactory
from tests.receivers import Receiver, verifies
from tests.smtp import closed_port

pytestmark = pytest.mark.django_db

BUYER_EMAIL = "ana@example.com"
ERP_SECRET = "erp-signing-secret"
CII_ROOT = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"
UBL_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
# Texts the Spanish catalog is to carry for the e-mail (it is maintained separately).
SPANISH_EMAIL = {
    "Invoice": "Factura",
    "Simplified invoice": "Factura simplificada",
    "%(kind)s %(number)s from %(seller)s": "%(kind)s %(number)s de %(seller)s",
    "Hello %(name)s,\n\nattached is %(kind)s %(number)s of %(date)s.\n\nThank you for shopping with %(seller)s.": (
        "Hola %(name)s:\n\nadjuntamos la %(kind)s %(number)s del %(date)s.\n\nGracias por comprar en %(seller)s."
    ),
}


def issue(
    *,
    full: bool = False,
    email: str = BUYER_EMAIL,
    language: str = "es",
    line_count: int = 1,
    seller: Seller | None = None,
) -> Invoice:
    """Issue through the service: a full invoice (buyer with tax id and address) or a simplified one."""
    buyer = Buyer(
        name="Ana García" if full else "",
        tax_id="12345678Z" if full else "",
        country="ES",
        street="Calle Luna 3" if full else "",
        city="Sevilla" if full else "",
        postal_code="41001" if full else "",
        email=email,
        language=language,
    )
    lines = [
        LineInput(
            description=f"Camiseta {i}",
            sku=f"SKU-{i}",
            quantity=Decimal(i % 3 + 1),
            unit_price=Decimal("19.95") + i,
            tax_rate=Decimal("21") if i % 2 else Decimal("10"),
        )
        for i in range(1, line_count + 1)
    ]
    return invoice_issue(seller=seller or SellerFactory.create(), buyer=buyer, lines=lines)


def refreshed(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def process(invoice: Invoice) -> None:
    """The worker's job, then what it enqueued on commit (the e-mail's outbox task), as a worker runs them."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        invoice_process(invoice_id=invoice.pk)


def send_email(invoice: Invoice) -> bool:
    """What the outbox's task does with the document's e-mail: send it if pending and due."""
    return outbox_send(message_id=email_of(invoice).pk)


def email_of(invoice: Invoice) -> OutboxMessage:
    """The document's e-mail: its outbox message."""
    message = invoice_email_message(invoice_id=invoice.pk)
    assert message is not None
    return message


def email_status(invoice: Invoice) -> str:
    """How the e-mail stands, as the API and the admin say it (EmailStatus)."""
    return invoice_email_status(invoice=Invoice.objects.get(pk=invoice.pk))


def stored_files(invoice: Invoice) -> dict[str, bytes]:
    return {file.format_code: bytes(file.content) for file in InvoiceFile.objects.filter(invoice=invoice)}


def attachments(message: mail.EmailMessage) -> dict[str, tuple[str, bytes]]:
    """File name → (media type, content) of each attachment."""
    return {name: (media_type, content) for name, content, media_type in message.attachments}


def smtp_mailers(port: int) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def spanish_email(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until the Spanish .po carries the e-mail texts, give a fresh catalog (this test's own
    # translation cache, dropped afterwards) the texts it is to hold.
    monkeypatch.setattr(trans_real, "_translations", {})
    catalog = trans_real.translation("es")._catalog  # type: ignore[attr-defined]
    for msgid, msgstr in SPANISH_EMAIL.items():
        catalog[msgid] = msgstr


@pytest.fixture
def refused_smtp(settings: Any) -> Iterator[int]:
    """The mailer points at a port that refuses connections."""
    with closed_port() as port:
        settings.MAILERS = smtp_mailers(port)
        yield port


class TotalsOffByOneCentCiiFormat(FacturXCiiFormat):
    """Factur-X whose grand total is a cent off its parts (BR-CO-15): a bug in a format, as it would ship."""

    def build(self, document: InvoiceDocument) -> bytes:
        return super().build(replace(document, grand_total=document.grand_total + Decimal("0.01")))


@pytest.fixture
def broken_cii_format(settings: Any) -> Iterator[None]:
    formats_registered.cache_clear()
    settings.INVOICE_FORMATS = [f"{__name__}.TotalsOffByOneCentCiiFormat", "invoicing.formats.ubl.PeppolUblFormat"]
    yield
    formats_registered.cache_clear()


@pytest.fixture
def erp(settings: Any, receiver: Receiver) -> Receiver:
    settings.INVOICE_ERP_URL = receiver.url
    settings.INVOICE_ERP_SECRET = ERP_SECRET
    return receiver


# Rendering


def test_rendering_stores_the_pdf_with_the_factur_x_xml_embedded_and_the_ubl_xml() -> None:
    invoice = issue(full=True)

    assert invoice_render(invoice_id=invoice.pk) is True

    files = stored_files(invoice)
    assert set(files) == {"pdf", "factur-x", "ubl"}
    assert files["pdf"].startswith(b"%PDF")
    assert facturx.get_facturx_xml_from_pdf(files["pdf"], check_xsd=False) == ("factur-x.xml", files["factur-x"])
    assert etree.fromstring(files["factur-x"]).tag == CII_ROOT
    assert etree.fromstring(files["ubl"]).tag == UBL_ROOT
    for file in InvoiceFile.objects.filter(invoice=invoice):
        assert file.sha256 == hashlib.sha256(bytes(file.content)).hexdigest()
    rendered = refreshed(invoice)
    assert rendered.render_status == RenderStatus.RENDERED
    assert rendered.rendered_at is not None


def test_a_simplified_invoice_gets_only_the_pdf_without_embedded_xml() -> None:
    invoice = issue()

    assert invoice_render(invoice_id=invoice.pk) is True

    files = stored_files(invoice)
    assert set(files) == {"pdf"}
    assert files["pdf"].startswith(b"%PDF")
    assert pypdf.PdfReader(io.BytesIO(files["pdf"])).attachments == {}


def test_an_xml_failing_validation_is_not_stored_and_marks_the_render_failed(
    broken_cii_format: None, erp: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    invoice = issue(full=True)

    with django_capture_on_commit_callbacks(execute=True):
        invoice_process(invoice_id=invoice.pk)

    failed = refreshed(invoice)
    assert failed.render_status == RenderStatus.FAILED
    assert {(f["format"], f["rule"]) for f in failed.render_findings} >= {("factur-x", "BR-CO-15")}
    assert all(f["message"] for f in failed.render_findings)
    assert not InvoiceFile.objects.filter(invoice=invoice).exists()
    assert mail.outbox == []
    assert email_status(invoice) == EmailStatus.PENDING
    assert not OutboxMessage.objects.exists()  # no e-mail owed yet, nothing for the ERP
    assert erp.requests == []
    assert invoice.pk not in invoice_ids_due()


# E-mail


def test_the_email_goes_to_the_buyer_with_the_pdf_and_both_xml_files_attached() -> None:
    invoice = issue(full=True)

    process(invoice)

    [message] = mail.outbox
    assert message.to == [BUYER_EMAIL]
    assert message.from_email == invoice.seller_email
    files = stored_files(invoice)
    assert attachments(message) == {
        f"{invoice.number}.pdf": ("application/pdf", files["pdf"]),
        "factur-x.xml": ("application/xml", files["factur-x"]),
        f"{invoice.number}-ubl.xml": ("application/xml", files["ubl"]),
    }
    sent = email_of(invoice)
    assert (sent.status, sent.attempts, sent.last_error) == (OutboxStatus.SENT, 1, "")
    assert (sent.target, sent.language) == (BUYER_EMAIL, "es")
    assert sent.sent_at is not None
    assert sent.leased_until is None
    assert email_status(invoice) == EmailStatus.SENT


def test_rendering_owes_the_buyer_one_email_in_the_outbox() -> None:
    invoice = issue()
    assert invoice_email_message(invoice_id=invoice.pk) is None  # nothing to attach yet

    invoice_render(invoice_id=invoice.pk)

    owed = email_of(invoice)
    assert (owed.kind, owed.status, owed.attempts, owed.dedupe_key) == (
        OutboxKind.INVOICE_EMAIL,
        OutboxStatus.PENDING,
        0,
        str(invoice.pk),
    )
    assert owed.body == {"invoice": invoice.pk, "number": invoice.number}


def test_the_pipeline_leaves_the_email_to_the_outbox_task_enqueued_when_rendering_commits(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    invoice = issue()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_process(invoice_id=invoice.pk)

    assert mail.outbox == []  # not sent by the pipeline itself: one task, one claim
    assert (email_of(invoice).status, email_of(invoice).attempts) == (OutboxStatus.PENDING, 0)
    assert [callback.func.__self__.name for callback in callbacks] == ["config.tasks.outbox_send"]


def test_a_simplified_invoice_email_carries_only_the_pdf() -> None:
    invoice = issue()

    process(invoice)

    [message] = mail.outbox
    assert list(attachments(message)) == [f"{invoice.number}.pdf"]
    assert email_status(invoice) == EmailStatus.SENT


@pytest.mark.usefixtures("spanish_email")
def test_the_email_is_written_in_the_buyers_language() -> None:
    seller = SellerFactory.create()
    english = issue(language="en", email="ann@example.com", seller=seller)
    spanish = issue(language="es", email="ana@example.com", seller=seller)

    process(english)
    process(spanish)

    by_address = {message.to[0]: message for message in mail.outbox}
    assert by_address["ann@example.com"].subject == f"Simplified invoice {english.number} from {seller.name}"
    assert by_address["ana@example.com"].subject == f"Factura simplificada {spanish.number} de {seller.name}"
    assert by_address["ann@example.com"].body.startswith("Hello customer,")
    assert by_address["ana@example.com"].body.startswith("Hola cliente:")


def test_running_the_pipeline_twice_sends_one_email_and_stores_the_files_once() -> None:
    invoice = issue(full=True)

    process(invoice)
    first = dict(InvoiceFile.objects.filter(invoice=invoice).values_list("format_code", "pk"))
    process(invoice)

    assert len(mail.outbox) == 1
    assert dict(InvoiceFile.objects.filter(invoice=invoice).values_list("format_code", "pk")) == first
    assert len(first) == 3
    assert email_of(invoice).attempts == 1
    assert OutboxMessage.objects.filter(kind=OutboxKind.INVOICE_EMAIL).count() == 1


def test_an_email_lease_blocks_a_second_send_until_it_runs_out() -> None:
    invoice = issue()
    invoice_render(invoice_id=invoice.pk)
    # Another worker claimed the e-mail and is sending it.
    until = timezone.now() + timedelta(minutes=5)
    OutboxMessage.objects.filter(pk=email_of(invoice).pk).update(attempts=1, leased_until=until, next_attempt_at=until)
    assert email_status(invoice) == EmailStatus.SENDING

    assert send_email(invoice) is False
    assert mail.outbox == []

    # That worker died: once its lease has run out, the send is due again.
    ran_out = timezone.now() - timedelta(seconds=1)
    OutboxMessage.objects.filter(pk=email_of(invoice).pk).update(leased_until=ran_out, next_attempt_at=ran_out)
    assert send_email(invoice) is True
    assert len(mail.outbox) == 1
    assert (email_status(invoice), email_of(invoice).attempts) == (EmailStatus.SENT, 2)


def test_a_failed_smtp_attempt_leaves_the_email_pending_with_the_error(refused_smtp: int) -> None:
    invoice = issue()
    invoice_render(invoice_id=invoice.pk)

    assert send_email(invoice) is False

    pending = email_of(invoice)
    assert (pending.status, pending.attempts) == (OutboxStatus.PENDING, 1)
    assert pending.last_error.startswith("ConnectionRefusedError")
    assert pending.leased_until is None
    assert pending.sent_at is None
    assert pending.next_attempt_at > timezone.now()  # after the backoff
    assert email_status(invoice) == EmailStatus.PENDING


def test_a_retry_after_a_failed_attempt_sends_and_clears_the_error(settings: Any) -> None:
    invoice = issue()
    invoice_render(invoice_id=invoice.pk)
    locmem = settings.MAILERS
    with closed_port() as port:
        settings.MAILERS = smtp_mailers(port)
        send_email(invoice)
    settings.MAILERS = locmem
    OutboxMessage.objects.filter(pk=email_of(invoice).pk).update(next_attempt_at=timezone.now())  # the backoff ran out

    assert send_email(invoice) is True

    sent = email_of(invoice)
    assert (sent.status, sent.attempts, sent.last_error) == (OutboxStatus.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_the_email_fails_for_good_after_the_maximum_attempts(settings: Any, refused_smtp: int) -> None:
    settings.INVOICE_EMAIL_MAX_ATTEMPTS = 3
    invoice = issue()
    invoice_render(invoice_id=invoice.pk)

    statuses = []
    for _ in range(3):
        OutboxMessage.objects.filter(pk=email_of(invoice).pk).update(next_attempt_at=timezone.now())
        send_email(invoice)
        statuses.append(email_status(invoice))

    assert statuses == [EmailStatus.PENDING, EmailStatus.PENDING, EmailStatus.FAILED]
    OutboxMessage.objects.filter(pk=email_of(invoice).pk).update(next_attempt_at=timezone.now())
    assert send_email(invoice) is False
    failed = email_of(invoice)
    assert (failed.status, failed.attempts) == (OutboxStatus.DEAD, 3)
    assert failed.last_error.startswith("ConnectionRefusedError")
    assert failed.pk not in outbox_message_ids_due(grace=timedelta(0))


def test_a_buyer_without_an_email_address_is_never_mailed() -> None:
    invoice = issue(email="")

    process(invoice)

    assert mail.outbox == []
    done = refreshed(invoice)
    assert done.render_status == RenderStatus.RENDERED
    assert email_status(invoice) == EmailStatus.NO_ADDRESS
    assert invoice_email_message(invoice_id=invoice.pk) is None
    assert invoice.pk not in invoice_ids_due()


def test_resending_the_email_sets_it_pending_and_sends_it_again(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    invoice = issue(full=True)
    process(invoice)
    rendered_at = refreshed(invoice).rendered_at

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invoice_email_resend(invoice=invoice)
        before_commit = email_of(invoice)
        assert (before_commit.status, before_commit.attempts) == (OutboxStatus.PENDING, 0)
        assert email_status(invoice) == EmailStatus.PENDING
        assert len(mail.outbox) == 1

    assert len(callbacks) == 1
    assert [message.to for message in mail.outbox] == [[BUYER_EMAIL], [BUYER_EMAIL]]
    assert attachments(mail.outbox[1]) == attachments(mail.outbox[0])
    sent = email_of(invoice)
    assert (sent.status, sent.attempts) == (OutboxStatus.SENT, 1)
    assert refreshed(invoice).rendered_at == rendered_at
    assert InvoiceFile.objects.filter(invoice=invoice).count() == 3


def test_resending_before_the_document_is_rendered_emails_it_once_rendered(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    invoice = issue()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invoice_email_resend(invoice=invoice)

    # The document's task; then, rendering having committed, its e-mail's (which finds it sent).
    assert [callback.func.__self__.name for callback in callbacks] == [
        "invoicing.tasks.invoice_process",
        "config.tasks.outbox_send",
    ]
    assert [message.to for message in mail.outbox] == [[BUYER_EMAIL]]
    assert email_status(invoice) == EmailStatus.SENT


def test_resending_to_a_buyer_without_an_email_address_is_refused() -> None:
    invoice = issue(email="")

    with pytest.raises(InvoiceInputError) as error:
        invoice_email_resend(invoice=invoice)

    assert error.value.code == "no_email"
    assert email_status(invoice) == EmailStatus.NO_ADDRESS


def test_the_list_reads_each_documents_email_status_as_one_document_does(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    seller = SellerFactory.create()
    no_address = issue(seller=seller, email="")
    waiting = issue(seller=seller)
    pending, sending, sent, failed = (issue(seller=seller) for _ in range(4))
    for invoice in (pending, sending, sent, failed):
        invoice_render(invoice_id=invoice.pk)
    until = timezone.now() + timedelta(minutes=5)
    OutboxMessage.objects.filter(pk=email_of(sending).pk).update(attempts=1, leased_until=until, next_attempt_at=until)
    send_email(sent)
    OutboxMessage.objects.filter(pk=email_of(failed).pk).update(status=OutboxStatus.DEAD, attempts=5)
    expected = {
        no_address.pk: EmailStatus.NO_ADDRESS,
        waiting.pk: EmailStatus.PENDING,
        pending.pk: EmailStatus.PENDING,
        sending.pk: EmailStatus.SENDING,
        sent.pk: EmailStatus.SENT,
        failed.pk: EmailStatus.FAILED,
    }

    with django_assert_num_queries(1):  # read from the list's annotation, not one query per document
        listed = {invoice.pk: invoice_email_status(invoice=invoice) for invoice in invoice_list()}

    assert listed == expected
    assert {pk: email_status(Invoice(pk=pk)) for pk in expected} == expected


# After commit


def test_issuing_renders_and_emails_after_commit_and_not_before(
    settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.INVOICE_PROCESS_ON_COMMIT = True

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invoice = issue(full=True)
        assert not InvoiceFile.objects.filter(invoice=invoice).exists()
        assert refreshed(invoice).render_status == RenderStatus.PENDING
        assert mail.outbox == []

    # The issue enqueues the document's task; rendering enqueues its e-mail's (which finds it sent).
    assert [callback.func.__self__.name for callback in callbacks] == [
        "invoicing.tasks.invoice_process",
        "config.tasks.outbox_send",
    ]
    assert set(stored_files(invoice)) == {"pdf", "factur-x", "ubl"}
    assert [message.to for message in mail.outbox] == [[BUYER_EMAIL]]
    assert email_status(invoice) == EmailStatus.SENT


def test_a_rolled_back_issue_enqueues_nothing(
    settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    settings.INVOICE_PROCESS_ON_COMMIT = True
    seller = SellerFactory.create()

    def payment_that_fails() -> None:
        with transaction.atomic():
            issue(seller=seller)
            raise RuntimeError("the payment failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        payment_that_fails()

    assert callbacks == []
    assert not Invoice.objects.exists()
    assert mail.outbox == []


# The sweepers: the invoicing one renders, the outbox's sends the e-mails


def test_the_sweeper_leaves_a_just_issued_document_to_its_own_task() -> None:
    issue(seller=SellerFactory.create(), email="fresh@example.com")
    assert invoices_sweep() == 0
    assert not mail.outbox


def test_the_invoicing_sweeper_renders_what_is_due_and_emails_it(settings: Any) -> None:
    settings.INVOICE_SWEEP_GRACE_SECONDS = 0
    seller = SellerFactory.create()
    render_due = issue(seller=seller, email="render-due@example.com")
    rendered = issue(seller=seller, email="rendered@example.com")
    invoice_render(invoice_id=rendered.pk)
    render_failed = issue(seller=seller, email="render-failed@example.com")
    Invoice.objects.filter(pk=render_failed.pk).update(render_status=RenderStatus.FAILED)

    # Tasks run eagerly here: each one the sweeper enqueues, and each one those enqueue on commit,
    # is done by the time it returns.
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert invoices_sweep() == 1

    assert [message.to[0] for message in mail.outbox] == ["render-due@example.com"]
    assert refreshed(render_due).render_status == RenderStatus.RENDERED
    assert email_status(render_due) == EmailStatus.SENT
    assert refreshed(render_failed).render_status == RenderStatus.FAILED
    assert invoices_sweep() == 0


def test_the_outbox_sweeper_sends_the_emails_due_and_not_what_is_done() -> None:
    seller = SellerFactory.create()
    email_due, lease_expired, leased, done = (
        issue(seller=seller, email=f"{name}@example.com") for name in ("email-due", "lease-expired", "leased", "done")
    )
    for invoice in (email_due, lease_expired, leased, done):
        invoice_render(invoice_id=invoice.pk)
    send_email(done)
    now = timezone.now()
    OutboxMessage.objects.filter(kind=OutboxKind.INVOICE_EMAIL).update(created_at=now - timedelta(minutes=5))
    OutboxMessage.objects.filter(pk=email_of(lease_expired).pk).update(
        attempts=1, leased_until=now - timedelta(seconds=1), next_attempt_at=now - timedelta(seconds=1)
    )
    OutboxMessage.objects.filter(pk=email_of(leased).pk).update(
        attempts=1, leased_until=now + timedelta(minutes=5), next_attempt_at=now + timedelta(minutes=5)
    )
    mail.outbox.clear()
    done_sent_at = email_of(done).sent_at

    # Tasks run eagerly here: each one the sweeper enqueues is done by the time it returns.
    assert outbox_sweep() == 2

    assert sorted(message.to[0] for message in mail.outbox) == ["email-due@example.com", "lease-expired@example.com"]
    assert {email_status(i) for i in (email_due, lease_expired)} == {EmailStatus.SENT}
    assert email_status(leased) == EmailStatus.SENDING
    assert email_of(done).sent_at == done_sent_at
    assert outbox_sweep() == 0


# ERP


def test_rendering_enqueues_one_signed_erp_post_with_the_number_totals_and_xml(
    erp: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    invoice = issue(full=True)

    with django_capture_on_commit_callbacks(execute=True):
        invoice_render(invoice_id=invoice.pk)

    [delivery] = OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK)
    assert (delivery.event, delivery.target) == (ERP_EVENT, erp.url)
    assert delivery.status == OutboxStatus.SENT
    [request] = erp.requests
    assert verifies(secret=ERP_SECRET, body=request.body, header=request.headers["X-Signature-256"])
    assert request.headers["X-Event"] == ERP_EVENT
    body = json.loads(request.body)
    assert body["number"] == invoice.number
    assert [Decimal(body[key]) for key in ("line_total", "tax_total", "grand_total", "payable_total")] == [
        invoice.line_total,
        invoice.tax_total,
        invoice.grand_total,
        invoice.payable_total,
    ]
    assert body["xml"].encode() == stored_files(invoice)["factur-x"]
    assert refreshed(invoice).erp_enqueued_at is not None


def test_a_simplified_invoice_is_posted_to_the_erp_without_xml(
    erp: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    invoice = issue()

    with django_capture_on_commit_callbacks(execute=True):
        invoice_render(invoice_id=invoice.pk)

    [request] = erp.requests
    body = json.loads(request.body)
    assert (body["number"], body["xml"]) == (invoice.number, None)


def test_running_the_pipeline_twice_posts_to_the_erp_once(
    erp: Receiver, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    invoice = issue(full=True)

    with django_capture_on_commit_callbacks(execute=True):
        invoice_process(invoice_id=invoice.pk)
    enqueued_at = refreshed(invoice).erp_enqueued_at
    with django_capture_on_commit_callbacks(execute=True) as second:
        invoice_process(invoice_id=invoice.pk)

    assert OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK, event=ERP_EVENT).count() == 1
    assert second == []
    assert len(erp.requests) == 1
    assert refreshed(invoice).erp_enqueued_at == enqueued_at


# Queries


# The invoice with seller and links, its lines, its taxes; then lock, insert the files, mark
# it rendered, owe the e-mail (its key looked up, its outbox row inserted), plus the savepoint
# pair of the test's transaction. None of them per line.
QUERY_BUDGET = 10


def test_rendering_takes_the_same_number_of_queries_for_one_line_and_for_thirty(
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    seller = SellerFactory.create()
    one, thirty = issue(full=True, seller=seller), issue(full=True, seller=seller, line_count=30)

    with django_assert_max_num_queries(QUERY_BUDGET) as one_line:
        invoice_render(invoice_id=one.pk)
    with django_assert_max_num_queries(QUERY_BUDGET) as thirty_lines:
        invoice_render(invoice_id=thirty.pk)

    assert len(one_line.captured_queries) == len(thirty_lines.captured_queries)
    assert InvoiceFile.objects.filter(invoice=thirty).count() == 3
