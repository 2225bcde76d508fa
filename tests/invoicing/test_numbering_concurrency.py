"""Gapless numbering under real concurrency on PostgreSQL: threads, own connections, rollbacks."""

from decimal import Decimal
from functools import partial

import pytest
from django.db import transaction

from invoicing.models import BillingRecord, DocumentKind, Invoice
from invoicing.selectors import billing_chain_breaks
from invoicing.services import invoice_credit
from tests.concurrency import run_at_once
from tests.factories import SellerFactory, invoice_issue_for

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20
ISSUES_PER_THREAD = 10  # 200 issues in all


class PaymentFailed(Exception):
    """The rest of the payment's transaction failed after the invoice was issued."""


def test_two_hundred_concurrent_issues_with_rollbacks_leave_no_gap_and_no_duplicate() -> None:
    seller = SellerFactory.create()

    def issue_many(thread: int) -> int:
        committed = 0
        for n in range(ISSUES_PER_THREAD):
            try:
                with transaction.atomic():
                    invoice_issue_for(seller, lines=[("1", "10.00", "21")], email="")
                    if (thread + n) % 4 == 0:
                        raise PaymentFailed
                committed += 1
            except PaymentFailed:
                pass
        return committed

    results = run_at_once([partial(issue_many, t) for t in range(THREADS)])
    assert all(isinstance(r, int) for r in results), results
    committed = sum(results)
    assert committed == THREADS * ISSUES_PER_THREAD - THREADS * ISSUES_PER_THREAD // 4
    sequences = sorted(Invoice.objects.filter(kind=DocumentKind.SIMPLIFIED).values_list("sequence", flat=True))
    assert sequences == list(range(1, committed + 1))
    # The billing record chain has no fork either: one record per position, each naming the one before.
    assert BillingRecord.objects.count() == committed
    assert billing_chain_breaks() == (committed, [])


def test_two_returns_crediting_the_same_invoice_at_once_cannot_credit_more_than_it_holds() -> None:
    invoice = invoice_issue_for(lines=[("2", "30.00", "21")])
    line_id = invoice.lines.get().pk

    def credit_one() -> Invoice:
        from invoicing.services import CreditLine

        return invoice_credit(invoice=invoice, lines=[CreditLine(line_id=line_id, quantity=Decimal(2))])

    results = run_at_once([credit_one, credit_one, credit_one])
    credited = [r for r in results if isinstance(r, Invoice)]
    assert len(credited) == 1
    assert invoice.credit_notes.count() == 1
    assert all(getattr(r, "code", "") == "credit_exceeds_remaining" for r in results if not isinstance(r, Invoice))
