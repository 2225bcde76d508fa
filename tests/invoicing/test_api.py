"""The invoices API: listing with filters, detail, downloads, exchange, export.

Who may call what, and which documents a channel client reaches: test_access.py.
"""

import csv
import io
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.channels import Channel
from invoicing.delivery import invoice_render
from invoicing.models import DocumentKind, Invoice
from tests.api import staff_api as signed_in
from tests.api import token_api
from tests.factories import CustomerFactory, SellerFactory, channel_client, invoice_issue_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_api(staff_user: Any) -> APIClient:
    return signed_in(staff_user)


def test_staff_list_every_document_newest_first(staff_api: APIClient) -> None:
    first, second = invoice_issue_for(), invoice_issue_for(tax_id="12345678Z")
    response = staff_api.get("/api/v1/invoices/")
    assert response.status_code == 200
    assert [row["number"] for row in response.json()["results"]] == [second.number, first.number]
    row = response.json()["results"][0]
    assert row["kind"] == "invoice"
    assert row["buyer"]["tax_id"] == "12345678Z"
    assert row["payable_total"] == "49.95"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=invoice", ["full"]),
        ("kind=simplified", ["ticket"]),
        ("series=F", ["full"]),
        ("source_reference=W-1", ["ticket"]),
    ],
)
def test_the_list_filters(staff_api: APIClient, query: str, expected: list[str]) -> None:
    documents = {"ticket": invoice_issue_for(source_reference="W-1"), "full": invoice_issue_for(tax_id="12345678Z")}
    numbers = [row["number"] for row in staff_api.get(f"/api/v1/invoices/?{query}").json()["results"]]
    assert numbers == [documents[name].number for name in expected]


def test_the_list_filters_by_customer_and_date(staff_api: APIClient) -> None:
    customer = CustomerFactory.create()
    mine = invoice_issue_for(customer=customer)
    invoice_issue_for()
    today = mine.issue_date.isoformat()
    response = staff_api.get(f"/api/v1/invoices/?customer={customer.pk}&date_from={today}&date_to={today}")
    assert [row["number"] for row in response.json()["results"]] == [mine.number]
    assert staff_api.get("/api/v1/invoices/?date_to=2000-01-01").json()["count"] == 0


def test_a_channel_client_gets_404_for_a_document_it_may_not_see() -> None:
    _, app_token = channel_client(Channel.APP, name="App", reach="own")
    store, _ = channel_client(Channel.STORE, name="Store till")
    other = invoice_issue_for(customer=CustomerFactory.create(), issued_by=store)
    response = token_api(app_token).get(f"/api/v1/invoices/{other.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_detail_has_lines_taxes_and_the_verification_url(staff_api: APIClient) -> None:
    invoice = invoice_issue_for(lines=[("2", "12.10", "21"), ("1", "11.00", "10")])
    body = staff_api.get(f"/api/v1/invoices/{invoice.pk}/").json()
    assert [line["net_amount"] for line in body["lines"]] == ["20.00", "10.00"]
    assert [tax["tax_rate"] for tax in body["taxes"]] == ["21.00", "10.00"]
    assert "numserie=" in body["verification_url"]
    assert body["formats"] == []


def test_documents_cannot_be_changed_through_the_api(staff_api: APIClient) -> None:
    invoice = invoice_issue_for()
    for method in ("put", "patch", "delete"):
        response = getattr(staff_api, method)(f"/api/v1/invoices/{invoice.pk}/", {"grand_total": "1.00"})
        # No operation declares these methods: the access check refuses them before the view's 405.
        assert response.status_code in (403, 405)
    assert Invoice.objects.get(pk=invoice.pk).payable_total == invoice.payable_total


def test_downloads_wait_for_rendering_with_409(staff_api: APIClient) -> None:
    invoice = invoice_issue_for()
    response = staff_api.get(f"/api/v1/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_rendered"


def test_pdf_and_xml_download_once_rendered(staff_api: APIClient) -> None:
    invoice = invoice_issue_for(tax_id="12345678Z")
    assert invoice_render(invoice_id=invoice.pk)
    pdf = staff_api.get(f"/api/v1/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    cii = staff_api.get(f"/api/v1/invoices/{invoice.pk}/xml/")
    ubl = staff_api.get(f"/api/v1/invoices/{invoice.pk}/xml/?syntax=ubl")
    assert b"CrossIndustryInvoice" in cii.content
    assert b"urn:oasis:names:specification:ubl" in ubl.content
    assert staff_api.get(f"/api/v1/invoices/{invoice.pk}/xml/?syntax=pdf").status_code == 400


def test_a_ticket_is_exchanged_through_the_api_once(staff_api: APIClient) -> None:
    ticket = invoice_issue_for()
    body = {
        "name": "Ana García",
        "tax_id": "12345678Z",
        "country": "ES",
        "street": "Calle Luna 3",
        "city": "Sevilla",
        "postal_code": "41001",
    }
    first = staff_api.post(f"/api/v1/invoices/{ticket.pk}/exchange/", body)
    assert first.status_code == 201
    assert (first.json()["kind"], first.json()["replaces_number"]) == ("invoice", ticket.number)
    again = staff_api.post(f"/api/v1/invoices/{ticket.pk}/exchange/", body)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ticket_already_replaced"


def test_an_exchange_with_an_invalid_tax_id_is_a_400_and_writes_nothing(staff_api: APIClient) -> None:
    ticket = invoice_issue_for()
    body = {"name": "Ana", "tax_id": "12345678A", "country": "ES", "street": "C", "city": "S", "postal_code": "1"}
    response = staff_api.post(f"/api/v1/invoices/{ticket.pk}/exchange/", body)
    assert response.status_code == 400
    assert "tax_id" in response.json()["error"]["fields"]
    assert Invoice.objects.filter(kind=DocumentKind.INVOICE).count() == 0


def test_accountants_export_csv_with_credit_notes_negative(staff_api: APIClient) -> None:
    from invoicing.services import invoice_credit

    invoice = invoice_issue_for(lines=[("1", "121.00", "21")])
    invoice_credit(invoice=invoice)
    day = invoice.issue_date.isoformat()
    response = staff_api.get(f"/api/v1/invoices/export/?date_from={day}&date_to={day}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(row["kind"], row["taxable_amount"], row["tax_amount"]) for row in rows] == [
        ("simplified", "100.00", "21.00"),
        ("credit_note", "-100.00", "-21.00"),
    ]
    as_json = staff_api.get(f"/api/v1/invoices/export/?date_from={day}&date_to={day}&file_format=json").json()
    assert [row["payable_total"] for row in as_json] == ["121.00", "-121.00"]


def test_the_export_is_for_staff_only(api: APIClient) -> None:
    response = api.get("/api/v1/invoices/export/?date_from=2026-01-01&date_to=2026-01-31")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_export_with_reversed_dates_is_a_400(staff_api: APIClient) -> None:
    response = staff_api.get("/api/v1/invoices/export/?date_from=2026-02-01&date_to=2026-01-01")
    assert response.status_code == 400


def test_list_and_detail_queries_do_not_grow_with_data(
    staff_api: APIClient, django_assert_max_num_queries: Any
) -> None:
    seller = SellerFactory.create()
    invoice_issue_for(seller)
    with django_assert_max_num_queries(6) as few:
        staff_api.get("/api/v1/invoices/")
    for _ in range(15):
        invoice_issue_for(seller, lines=[("1", "10.00", "21")] * 20, customer=CustomerFactory.create())
    with django_assert_max_num_queries(6) as many:
        staff_api.get("/api/v1/invoices/")
    assert len(few.captured_queries) == len(many.captured_queries)
    big = Invoice.objects.first()
    assert big is not None
    with django_assert_max_num_queries(8):
        staff_api.get(f"/api/v1/invoices/{big.pk}/")
