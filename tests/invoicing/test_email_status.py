"""The e-mail's status, read by its one SQL reading, for every outbox status, leased or not."""

from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from config.models import OutboxMessage, OutboxStatus
from invoicing.models import EmailStatus, Invoice
from invoicing.selectors import INVOICE_EMAIL, invoice_email_key, invoice_email_status, invoices_with_email_status
from tests.factories import invoice_issue_for

pytestmark = pytest.mark.django_db

EXPECTED: dict[tuple[str, bool], str] = {
    # (outbox status, held by a worker's lease): the e-mail's status
    (OutboxStatus.PENDING, False): EmailStatus.PENDING,
    (OutboxStatus.PENDING, True): EmailStatus.SENDING,
    (OutboxStatus.SENT, False): EmailStatus.SENT,
    (OutboxStatus.SENT, True): EmailStatus.SENT,
    (OutboxStatus.DEAD, False): EmailStatus.FAILED,
    (OutboxStatus.DEAD, True): EmailStatus.FAILED,
    (OutboxStatus.UNDELIVERABLE, False): EmailStatus.FAILED,
    (OutboxStatus.UNDELIVERABLE, True): EmailStatus.FAILED,
}


def test_every_outbox_status_is_named() -> None:
    assert {status for status, _leased in EXPECTED} == set(OutboxStatus.values)


@pytest.mark.parametrize(("outbox_status", "leased"), list(EXPECTED))
def test_each_outbox_status_reads_as_its_email_status(outbox_status: str, leased: bool) -> None:
    invoice = invoice_issue_for()
    now = timezone.now()
    OutboxMessage.objects.create(
        kind=INVOICE_EMAIL,
        dedupe_key=invoice_email_key(invoice.pk),
        body={},
        status=outbox_status,
        sent_at=now if outbox_status == OutboxStatus.SENT else None,
        leased_until=now + timedelta(minutes=5) if leased else None,
    )
    expected = EXPECTED[outbox_status, leased]

    listed = invoices_with_email_status(Invoice.objects.filter(pk=invoice.pk)).get()
    one = Invoice.objects.get(pk=invoice.pk)  # not annotated: the same query, run for it

    assert (invoice_email_status(invoice=listed), invoice_email_status(invoice=one)) == (expected, expected)
    # The documents whose e-mail stands so, filtered as the admin's filter does.
    filtered = invoices_with_email_status(Invoice.objects.all()).filter(Q(email_status=expected))
    assert list(filtered.values_list("pk", flat=True)) == [invoice.pk]
