"""Spain's VeriFactu: fingerprints, their chain per issuer, verification, the QR URL and submission."""

import datetime
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from config.models import OutboxKind, OutboxMessage, OutboxStatus
from config.outbox import outbox_send
from invoicing import verifactu
from invoicing.models import BillingRecord, BillingRecordType, Invoice
from invoicing.selectors import invoice_verification_url
from invoicing.services import Buyer, invoice_credit, invoice_ticket_exchange
from tests.concurrency import raised, run_at_once
from tests.factories import SellerFactory, invoice_issue_for

pytestmark = pytest.mark.django_db


def test_the_fingerprint_reproduces_the_tax_agency_test_vector() -> None:
    hashed = verifactu.fingerprint_input(
        issuer_tax_id="89890001K",
        number="12345678/G33",
        issue_date="01-01-2024",
        record_type="F1",
        tax_total="12.35",
        grand_total="123.45",
        previous_fingerprint="",
        generated_at="2024-01-01T19:20:30+01:00",
    )
    assert hashed == (
        "IDEmisorFactura=89890001K&NumSerieFactura=12345678/G33&FechaExpedicionFactura=01-01-2024"
        "&TipoFactura=F1&CuotaTotal=12.35&ImporteTotal=123.45&Huella=&FechaHoraHusoGenRegistro=2024-01-01T19:20:30+01:00"
    )
    assert verifactu.fingerprint(hashed) == "3C464DAF61ACB827C65FDA19F352A4E3BDC2C640E9E9FC4CC058073F38F12F60"


def test_amounts_written_differently_hash_differently() -> None:
    common = {
        "issuer_tax_id": "89890001K",
        "number": "1",
        "issue_date": "01-01-2024",
        "record_type": "F1",
        "grand_total": "123.45",
        "previous_fingerprint": "",
        "generated_at": "2024-01-01T19:20:30+01:00",
    }
    two = verifactu.fingerprint(verifactu.fingerprint_input(tax_total="12.35", **common))
    three = verifactu.fingerprint(verifactu.fingerprint_input(tax_total="12.350", **common))
    assert two != three


def test_record_times_are_written_in_spanish_time_with_their_offset() -> None:
    moment = datetime.datetime(2024, 7, 1, 10, 0, 0, tzinfo=datetime.UTC)
    assert verifactu.generated_at_text(moment) == "2024-07-01T12:00:00+02:00"


def test_each_issued_document_chains_to_the_previous_record_of_its_issuer() -> None:
    seller = SellerFactory.create()
    first, second = invoice_issue_for(seller), invoice_issue_for(seller)
    other_seller = SellerFactory.create(tax_id="A58818501", name="Otra S.A.", is_default=False)
    other = invoice_issue_for(other_seller)
    a, b, c = (BillingRecord.objects.get(invoice=i) for i in (first, second, other))
    assert (a.position, a.previous, b.position, b.previous) == (1, None, 2, a)
    assert (c.position, c.previous) == (1, None)
    assert f"&Huella={a.fingerprint}&" in b.hashed_input
    assert b.fingerprint == verifactu.fingerprint(b.hashed_input)


def test_the_stored_string_is_exactly_what_was_hashed() -> None:
    invoice = invoice_issue_for(lines=[("1", "121.00", "21")])
    record = invoice.billing_record
    assert record.hashed_input == verifactu.fingerprint_input(
        issuer_tax_id=invoice.seller_tax_id,
        number=invoice.number,
        issue_date=invoice.issue_date.strftime("%d-%m-%Y"),
        record_type="F2",
        tax_total="21.00",
        grand_total="121.00",
        previous_fingerprint="",
        generated_at=record.generated_at,
    )


def test_record_types_follow_the_document() -> None:
    seller = SellerFactory.create()
    ticket = invoice_issue_for(seller)
    full = invoice_issue_for(seller, tax_id="12345678Z")
    ticket_credit = invoice_credit(invoice=invoice_issue_for(seller))
    full_credit = invoice_credit(invoice=full)
    exchanged = invoice_ticket_exchange(
        ticket=ticket,
        buyer=Buyer(
            name="Ana", tax_id="12345678Z", country="ES", street="C/ Luna 3", city="Sevilla", postal_code="41001"
        ),
    )
    types = [d.billing_record.record_type for d in (ticket, full, ticket_credit, full_credit, exchanged)]
    assert types == [
        BillingRecordType.F2,
        BillingRecordType.F1,
        BillingRecordType.R5,
        BillingRecordType.R1,
        BillingRecordType.F3,
    ]


def test_credit_notes_carry_negative_amounts_in_their_record() -> None:
    credit = invoice_credit(invoice=invoice_issue_for(lines=[("1", "12.10", "21")]))
    assert "&CuotaTotal=-2.10&ImporteTotal=-12.10&" in credit.billing_record.hashed_input


def test_verify_invoice_chain_reports_a_holding_chain() -> None:
    seller = SellerFactory.create()
    for _ in range(3):
        invoice_issue_for(seller)
    out = StringIO()
    call_command("verify_invoice_chain", stdout=out)
    assert "3 billing records checked" in out.getvalue()


def _tamper(sql: str, params: list[str | int]) -> None:
    """What a person with database access could do: switch the immutability trigger off and edit."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # Django's deferred FK checks would block ALTER TABLE
        cursor.execute("ALTER TABLE invoicing_invoice DISABLE TRIGGER invoicing_invoice_immutable")
        cursor.execute("ALTER TABLE invoicing_billingrecord DISABLE TRIGGER invoicing_billingrecord_immutable")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE invoicing_invoice ENABLE TRIGGER invoicing_invoice_immutable")
        cursor.execute("ALTER TABLE invoicing_billingrecord ENABLE TRIGGER invoicing_billingrecord_immutable")


def test_verify_invoice_chain_finds_a_tampered_document_amount() -> None:
    seller = SellerFactory.create()
    invoices = [invoice_issue_for(seller) for _ in range(3)]
    _tamper(
        "UPDATE invoicing_invoice SET grand_total = grand_total - 10, line_total = line_total - 10,"
        " payable_total = payable_total - 10 WHERE id = %s",
        [invoices[1].pk],
    )
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_invoice_chain", stderr=err)
    assert f"broken at record #2 (document {invoices[1].number})" in err.getvalue()


def test_verify_invoice_chain_finds_a_rewritten_fingerprint() -> None:
    seller = SellerFactory.create()
    invoices = [invoice_issue_for(seller) for _ in range(3)]
    _tamper("UPDATE invoicing_billingrecord SET fingerprint = %s WHERE invoice_id = %s", ["0" * 64, invoices[0].pk])
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_invoice_chain", stderr=err)
    assert "broken at record #1" in err.getvalue()


def test_the_verification_url_names_issuer_number_date_and_amount(settings: object) -> None:
    invoice = invoice_issue_for(lines=[("1", "121.00", "21")])
    url = invoice_verification_url(invoice)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR?")
    assert query == {
        "nif": [invoice.seller_tax_id],
        "numserie": [invoice.number],
        "fecha": [invoice.issue_date.strftime("%d-%m-%Y")],
        "importe": ["121.00"],
    }


def test_the_verification_host_is_configurable_for_the_test_environment(settings: object) -> None:
    settings.VERIFACTU_QR_URL = "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR"  # type: ignore[attr-defined]
    url = verifactu.verification_url(
        issuer_tax_id="89890001K", number="A/1", issue_date=datetime.date(2024, 1, 1), grand_total=Decimal("10.00")
    )
    assert (
        url
        == "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR?nif=89890001K&numserie=A%2F1&fecha=01-01-2024&importe=10.00"
    )


# Submission to the tax agency: an outbox message per record (kind verifactu.submission).

SUBMITTED: list[str] = []
# Fingerprints the stand-in agency refuses (it raises), as its service being down would.
REFUSED: set[str] = set()
SUBMITTER = "tests.invoicing.test_verifactu.record_submission"


def record_submission(record: BillingRecord) -> None:
    """A stand-in for the agency's service, named in VERIFACTU_SUBMITTER by the tests below."""
    if record.fingerprint in REFUSED:
        raise ConnectionError("the agency's service is down")
    SUBMITTED.append(record.fingerprint)


@pytest.fixture
def submitter(settings: Any) -> Iterator[None]:
    settings.VERIFACTU_SUBMITTER = SUBMITTER
    SUBMITTED.clear()
    REFUSED.clear()
    yield
    SUBMITTED.clear()
    REFUSED.clear()


def submission(invoice: Invoice) -> OutboxMessage:
    record = BillingRecord.objects.get(invoice=invoice)
    return OutboxMessage.objects.get(kind=OutboxKind.VERIFACTU_SUBMISSION, dedupe_key=str(record.pk))


def submit(invoice: Invoice) -> bool:
    """What the outbox's task does with the document's submission message: send it if pending and due."""
    return outbox_send(message_id=submission(invoice).pk)


def status_of(invoice: Invoice) -> str:
    return BillingRecord.objects.get(invoice=invoice).submission_status


def test_without_a_submitter_records_wait_as_not_submitted() -> None:
    from invoicing.delivery import invoice_process, invoices_sweep

    invoice = invoice_issue_for()
    invoice_process(invoice_id=invoice.pk)

    assert status_of(invoice) == "not_submitted"
    assert not OutboxMessage.objects.filter(kind=OutboxKind.VERIFACTU_SUBMISSION).exists()
    assert invoices_sweep() == 0  # nothing rendered due, no submission owed


@pytest.mark.usefixtures("submitter")
def test_a_configured_submitter_receives_each_record_once() -> None:
    invoice = invoice_issue_for()
    assert submit(invoice) is True
    assert submit(invoice) is False
    record = BillingRecord.objects.get(invoice=invoice)
    assert (SUBMITTED, record.submission_status) == ([record.fingerprint], "submitted")
    sent = submission(invoice)
    assert (sent.status, sent.attempts, sent.target) == (OutboxStatus.SENT, 1, "verifactu")


@pytest.mark.usefixtures("submitter")
def test_issuing_owes_the_submission_and_the_outbox_sends_it_after_commit(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_issue_for()
        assert submission(invoice).status == OutboxStatus.PENDING
        assert SUBMITTED == []

    assert [BillingRecord.objects.get(invoice=invoice).fingerprint] == SUBMITTED
    assert status_of(invoice) == "submitted"


@pytest.mark.usefixtures("submitter")
def test_a_failed_submission_is_retried_after_the_backoff(settings: Any) -> None:
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 60
    invoice = invoice_issue_for()
    REFUSED.add(BillingRecord.objects.get(invoice=invoice).fingerprint)

    assert submit(invoice) is False

    waiting = submission(invoice)
    assert (waiting.status, waiting.attempts) == (OutboxStatus.PENDING, 1)
    assert waiting.last_error == "ConnectionError: the agency's service is down"
    assert waiting.next_attempt_at >= timezone.now() + timedelta(seconds=59)
    assert status_of(invoice) == "not_submitted"

    REFUSED.clear()
    OutboxMessage.objects.filter(pk=waiting.pk).update(next_attempt_at=timezone.now())  # the backoff ran out
    assert submit(invoice) is True
    assert (submission(invoice).attempts, status_of(invoice)) == (2, "submitted")


@pytest.mark.usefixtures("submitter")
def test_a_submission_failing_every_attempt_becomes_a_dead_letter(settings: Any) -> None:
    settings.OUTBOUND_MAX_ATTEMPTS = 2
    settings.OUTBOUND_BACKOFF_BASE_SECONDS = 0
    invoice = invoice_issue_for()
    REFUSED.add(BillingRecord.objects.get(invoice=invoice).fingerprint)

    submit(invoice)
    submit(invoice)

    assert (submission(invoice).status, submission(invoice).attempts) == (OutboxStatus.DEAD, 2)
    assert status_of(invoice) == "not_submitted"


@pytest.mark.usefixtures("submitter")
def test_a_record_is_not_submitted_before_the_previous_one_of_its_issuer(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    seller = SellerFactory.create()
    first, second = invoice_issue_for(seller), invoice_issue_for(seller)

    # The second's task runs first (the first's was lost, or is late): it waits, counting no attempt.
    assert submit(second) is False
    waiting = submission(second)
    assert (waiting.status, waiting.attempts, SUBMITTED) == (OutboxStatus.PENDING, 0, [])
    assert "not submitted yet" in waiting.last_error
    assert waiting.next_attempt_at > timezone.now()

    # The first one's success sends the second at once, in chain order.
    with django_capture_on_commit_callbacks(execute=True):
        assert submit(first) is True

    records = [BillingRecord.objects.get(invoice=invoice) for invoice in (first, second)]
    assert [record.fingerprint for record in records] == SUBMITTED
    assert [record.submission_status for record in records] == ["submitted", "submitted"]


def test_records_issued_before_a_submitter_was_configured_are_owed_once_one_is(
    settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from invoicing.delivery import invoices_sweep

    seller = SellerFactory.create()
    before = [invoice_issue_for(seller), invoice_issue_for(seller)]
    for invoice in before:
        Invoice.objects.filter(pk=invoice.pk).update(render_status="rendered")  # nothing else due
    settings.VERIFACTU_SUBMITTER = SUBMITTER
    SUBMITTED.clear()
    REFUSED.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert invoices_sweep() == 2

    records = [BillingRecord.objects.get(invoice=invoice) for invoice in before]
    assert [record.fingerprint for record in records] == SUBMITTED
    assert invoices_sweep() == 0
    SUBMITTED.clear()


@pytest.mark.django_db(transaction=True)
def test_a_sweep_overlapping_another_that_owes_the_same_record_meanwhile_goes_on(settings: Any) -> None:
    from invoicing.delivery import billing_record_submission_enqueue, billing_record_submissions_enqueue

    seller = SellerFactory.create()
    first, second = (BillingRecord.objects.get(invoice=invoice_issue_for(seller)) for _ in range(2))
    settings.VERIFACTU_SUBMITTER = SUBMITTER
    SUBMITTED.clear()
    REFUSED.clear()
    overlapped: list[bool] = []

    def other_sweep_owes_it() -> None:
        with transaction.atomic():
            billing_record_submission_enqueue(record=first)

    def just_before_our_insert(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        # The other sweep read the same records and commits its insert between our check and ours.
        if not overlapped and sql.startswith('INSERT INTO "config_outboxmessage"'):
            overlapped.append(True)
            assert raised(run_at_once([other_sweep_owes_it])) == []
        return execute(sql, *args)

    with connection.execute_wrapper(just_before_our_insert):
        assert billing_record_submissions_enqueue() == 2

    assert overlapped == [True]
    owed = OutboxMessage.objects.filter(kind=OutboxKind.VERIFACTU_SUBMISSION).order_by("dedupe_key")
    assert sorted(owed.values_list("dedupe_key", flat=True)) == sorted([str(first.pk), str(second.pk)])
    SUBMITTED.clear()
