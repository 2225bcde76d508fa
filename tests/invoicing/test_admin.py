"""Invoicing in the admin: read-only documents, search, downloads, resend and credit actions."""

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from config.models import OutboxMessage, OutboxStatus
from invoicing.delivery import invoice_render
from invoicing.models import DocumentKind, EmailStatus, Invoice
from invoicing.selectors import invoice_email_message
from tests.factories import SellerFactory, UserFactory, invoice_issue_for

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/invoicing/invoice/"


@pytest.fixture
def admin_client_es() -> Client:
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_the_changelist_searches_by_number_and_tax_id(admin_client_es: Client) -> None:
    ticket = invoice_issue_for()
    full = invoice_issue_for(tax_id="12345678Z")
    by_number = admin_client_es.get(CHANGELIST, {"q": ticket.number})
    by_tax_id = admin_client_es.get(CHANGELIST, {"q": "12345678Z"})
    assert ticket.number in by_number.content.decode()
    assert full.number not in by_number.content.decode()
    assert full.number in by_tax_id.content.decode()
    assert ticket.number not in by_tax_id.content.decode()


def test_the_changelist_costs_the_same_queries_with_more_documents(
    admin_client_es: Client, django_assert_max_num_queries: Any
) -> None:
    seller = SellerFactory.create()
    invoice_issue_for(seller)
    with django_assert_max_num_queries(20) as few:
        assert admin_client_es.get(CHANGELIST).status_code == 200
    for _ in range(20):
        invoice_issue_for(seller)
    with django_assert_max_num_queries(20) as many:
        admin_client_es.get(CHANGELIST)
    assert len(few.captured_queries) == len(many.captured_queries)


def test_a_document_is_shown_read_only_and_cannot_be_added_or_deleted(admin_client_es: Client) -> None:
    invoice = invoice_issue_for()
    page = admin_client_es.get(f"{CHANGELIST}{invoice.pk}/change/")
    assert page.status_code == 200
    assert 'name="grand_total"' not in page.content.decode()
    assert admin_client_es.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client_es.post(f"{CHANGELIST}{invoice.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_staff_download_the_rendered_pdf(admin_client_es: Client) -> None:
    invoice = invoice_issue_for()
    invoice_render(invoice_id=invoice.pk)
    page = admin_client_es.get(f"{CHANGELIST}{invoice.pk}/change/").content.decode()
    url = reverse("admin:invoicing_invoice_download", args=[invoice.pk, "pdf"])
    assert url in page
    response = admin_client_es.get(url)
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_the_resend_action_puts_the_email_back_in_the_queue(admin_client_es: Client) -> None:
    invoice = invoice_issue_for()
    invoice_render(invoice_id=invoice.pk)
    OutboxMessage.objects.filter(dedupe_key=str(invoice.pk)).update(status=OutboxStatus.DEAD, attempts=5)
    admin_client_es.post(CHANGELIST, {"action": "resend_email", "_selected_action": [invoice.pk]})
    message = invoice_email_message(invoice_id=invoice.pk)
    assert message is not None
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)


def test_the_changelist_shows_and_filters_the_email_status(admin_client_es: Client) -> None:
    failed, no_address = invoice_issue_for(), invoice_issue_for(email="")
    invoice_render(invoice_id=failed.pk)
    OutboxMessage.objects.filter(dedupe_key=str(failed.pk)).update(status=OutboxStatus.DEAD, attempts=5)
    page = admin_client_es.get(CHANGELIST, {"email_status": EmailStatus.FAILED})
    assert [invoice.pk for invoice in page.context["cl"].result_list] == [failed.pk]
    assert str(EmailStatus.FAILED.label) in page.content.decode()
    page = admin_client_es.get(CHANGELIST, {"email_status": EmailStatus.NO_ADDRESS})
    assert [invoice.pk for invoice in page.context["cl"].result_list] == [no_address.pk]
    detail = admin_client_es.get(f"{CHANGELIST}{failed.pk}/change/")
    assert str(EmailStatus.FAILED.label) in detail.content.decode()


def test_the_credit_action_issues_a_credit_note_for_what_remains(admin_client_es: Client) -> None:
    invoice = invoice_issue_for()
    admin_client_es.post(CHANGELIST, {"action": "issue_credit_note", "_selected_action": [invoice.pk]})
    credit = Invoice.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert (credit.original, credit.payable_total) == (invoice, invoice.payable_total)
    # A second time there is nothing left: refused with a message, nothing written.
    response = admin_client_es.post(
        CHANGELIST, {"action": "issue_credit_note", "_selected_action": [invoice.pk]}, follow=True
    )
    assert Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1
    assert invoice.number in response.content.decode()


def test_the_export_action_returns_the_selected_documents_as_csv(admin_client_es: Client) -> None:
    chosen, other = invoice_issue_for(), invoice_issue_for()
    response = admin_client_es.post(CHANGELIST, {"action": "export_csv", "_selected_action": [chosen.pk]})
    body = response.content.decode()
    assert chosen.number in body
    assert other.number not in body


def test_store_staff_without_invoicing_permissions_cannot_open_documents() -> None:
    client = Client()
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get(CHANGELIST).status_code == 403
