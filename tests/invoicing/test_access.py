"""Who reads, downloads, exchanges and exports documents (issue 15, invoicing's share).

Staff need the same Django permissions as in the admin: `view_invoice` to list and download,
`add_invoice` to exchange a ticket, `export_invoices` for the accountants' export. A channel
client needs `invoices:read` / `invoices:write`; one reaching every customer sees every
document, any other only the documents issued for it, never more because it issued one for
the same customer. Another client's document answers 404 exactly like a missing one.
"""

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from config.channels import Channel
from config.roles import Role
from config.scopes import Scope
from invoicing.delivery import invoice_render
from invoicing.models import DocumentKind, Invoice
from invoicing.selectors import invoice_list
from invoicing.services import Buyer, invoice_credit, invoice_ticket_exchange
from tests.api import admin_session, staff_api, token_api
from tests.factories import (
    CustomerFactory,
    LocationFactory,
    channel_client,
    invoice_issue_for,
    staff_with_role,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/invoicing/invoice/"
EXPORT = "/api/v1/invoices/export/?date_from=2026-01-01&date_to=2026-12-31"
COMPANY = {
    "name": "Construcciones Norte S.L.",
    "tax_id": "B65410011",
    "country": "ES",
    "street": "Calle Alcalá 10",
    "city": "Madrid",
    "postal_code": "28014",
}


def urls_of(invoice_id: int) -> dict[str, str]:
    base = f"/api/v1/invoices/{invoice_id}/"
    return {"detail": base, "pdf": f"{base}pdf/", "xml": f"{base}xml/"}


@pytest.fixture
def rendered() -> Invoice:
    """A company's full invoice, its PDF and XML stored: anyone let in would download it."""
    invoice = invoice_issue_for(tax_id="12345678Z")
    assert invoice_render(invoice_id=invoice.pk)
    return invoice


@pytest.fixture
def app_own() -> tuple[Any, str]:
    """The retailer's app given reach over its own customers only."""
    return channel_client(Channel.APP, name="App (own reach)", reach="own")


@pytest.fixture
def marketplace() -> tuple[Any, str]:
    return channel_client(Channel.MARKETPLACE, name="Marketplace")


# Finding 2: the API checked is_staff only.


def test_store_staff_refused_documents_in_the_admin_are_refused_them_through_the_api(rendered: Invoice) -> None:
    madrid = LocationFactory.create(code="madrid", name="Tienda Madrid")
    store_staff = staff_api(staff_with_role(Role.STORE_STAFF, madrid, username="tienda.madrid"))
    answers = {
        "list": store_staff.get("/api/v1/invoices/").status_code,
        **{name: store_staff.get(url).status_code for name, url in urls_of(rendered.pk).items()},
        "export": store_staff.get(EXPORT).status_code,
    }
    assert answers == {"list": 403, "detail": 403, "pdf": 403, "xml": 403, "export": 403}


def test_store_staff_cannot_download_a_document_through_the_admin_either(rendered: Invoice) -> None:
    madrid = LocationFactory.create(code="madrid", name="Tienda Madrid")
    store_staff = admin_session(staff_with_role(Role.STORE_STAFF, madrid, username="tienda.madrid"))
    assert store_staff.get(CHANGELIST).status_code == 403
    assert store_staff.get(f"{CHANGELIST}{rendered.pk}/download/pdf/").status_code == 403


def test_an_accountant_lists_downloads_and_exports(rendered: Invoice) -> None:
    accountant = staff_api(staff_with_role(Role.ACCOUNTANT))
    assert [row["number"] for row in accountant.get("/api/v1/invoices/").json()["results"]] == [rendered.number]
    assert accountant.get(urls_of(rendered.pk)["pdf"]).content.startswith(b"%PDF")
    assert accountant.get(urls_of(rendered.pk)["xml"]).status_code == 200
    day = rendered.issue_date.isoformat()
    export = accountant.get(f"/api/v1/invoices/export/?date_from={day}&date_to={day}")
    assert export.status_code == 200
    assert rendered.number in export.content.decode()


def test_an_agent_lists_and_downloads_but_does_not_export(rendered: Invoice) -> None:
    agent = staff_api(staff_with_role(Role.AGENT))
    assert agent.get("/api/v1/invoices/").json()["count"] == 1
    assert agent.get(urls_of(rendered.pk)["detail"]).status_code == 200
    assert agent.get(urls_of(rendered.pk)["pdf"]).status_code == 200
    response = agent.get(EXPORT)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_agent_may_not_exchange_a_ticket_and_a_team_lead_may() -> None:
    ticket = invoice_issue_for()
    refused = staff_api(staff_with_role(Role.AGENT)).post(f"/api/v1/invoices/{ticket.pk}/exchange/", COMPANY)
    assert refused.status_code == 403
    exchanged = staff_api(staff_with_role(Role.TEAM_LEAD)).post(f"/api/v1/invoices/{ticket.pk}/exchange/", COMPANY)
    assert exchanged.status_code == 201
    assert Invoice.objects.filter(kind=DocumentKind.INVOICE).count() == 1


def test_channel_credentials_never_export(web_client: tuple[Any, str]) -> None:
    response = token_api(web_client[1]).get(EXPORT)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_credential_without_invoices_read_gets_missing_scope() -> None:
    _, locker_token = channel_client(Channel.LOCKER, name="Locker")
    response = token_api(locker_token).get("/api/v1/invoices/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert response.json()["error"]["scope"] == Scope.INVOICES_READ


def test_a_credential_without_invoices_write_may_not_exchange_even_its_own_ticket(
    marketplace: tuple[Any, str],
) -> None:
    client, token = marketplace
    ticket = invoice_issue_for(issued_by=client)
    response = token_api(token).post(f"/api/v1/invoices/{ticket.pk}/exchange/", COMPANY)
    assert response.status_code == 403
    assert response.json()["error"]["scope"] == Scope.INVOICES_WRITE
    assert not Invoice.objects.filter(kind=DocumentKind.INVOICE).exists()


def test_anonymous_callers_get_401(anonymous_api: APIClient) -> None:
    ticket = invoice_issue_for()
    assert anonymous_api.get("/api/v1/invoices/").status_code == 401
    assert anonymous_api.get(f"/api/v1/invoices/{ticket.pk}/pdf/").status_code == 401
    assert anonymous_api.get(EXPORT).status_code == 401


def test_the_admin_export_action_needs_the_export_permission() -> None:
    chosen = invoice_issue_for()
    action = {"action": "export_csv", "_selected_action": [chosen.pk]}
    refused = admin_session(staff_with_role(Role.AGENT)).post(CHANGELIST, action)
    assert chosen.number not in refused.content.decode()
    exported = admin_session(staff_with_role(Role.ACCOUNTANT)).post(CHANGELIST, action)
    assert exported["Content-Type"].startswith("text/csv")
    assert chosen.number in exported.content.decode()


def test_the_admin_credit_action_needs_the_change_permission() -> None:
    invoice = invoice_issue_for()
    action = {"action": "issue_credit_note", "_selected_action": [invoice.pk]}
    admin_session(staff_with_role(Role.AGENT)).post(CHANGELIST, action)
    assert not Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).exists()
    admin_session(staff_with_role(Role.ACCOUNTANT)).post(CHANGELIST, action)
    assert Invoice.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1


# Finding 3: issuing one document for a customer widened the reach to all of hers.


def test_issuing_a_document_for_a_customer_does_not_reach_her_earlier_ones(
    app_own: tuple[Any, str], marketplace: tuple[Any, str]
) -> None:
    app, app_token = app_own
    ana = CustomerFactory.create()
    company_invoice = invoice_issue_for(customer=ana, tax_id="12345678Z", issued_by=marketplace[0])
    assert invoice_render(invoice_id=company_invoice.pk)
    earlier_ticket = invoice_issue_for(customer=ana, issued_by=marketplace[0])
    # The app places an order with her e-mail and reports a capture: a ticket is issued for it.
    own_ticket = invoice_issue_for(customer=ana, issued_by=app)
    app_api = token_api(app_token)

    listed = app_api.get("/api/v1/invoices/").json()["results"]
    assert [row["number"] for row in listed] == [own_ticket.number]
    assert app_api.get(f"/api/v1/invoices/?customer={ana.pk}").json()["count"] == 1
    missing = app_api.get("/api/v1/invoices/999999/")
    for url in urls_of(company_invoice.pk).values():
        response = app_api.get(url)
        assert (response.status_code, response.json()) == (404, missing.json())
    exchange = app_api.post(f"/api/v1/invoices/{earlier_ticket.pk}/exchange/", COMPANY)
    assert (exchange.status_code, exchange.json()) == (404, missing.json())
    assert not Invoice.objects.filter(replaces=earlier_ticket).exists()


def test_a_client_of_own_reach_lists_only_documents_issued_for_it(
    app_own: tuple[Any, str], marketplace: tuple[Any, str]
) -> None:
    ana = CustomerFactory.create()
    app_docs = {invoice_issue_for(customer=ana, issued_by=app_own[0]), invoice_issue_for(issued_by=app_own[0])}
    invoice_issue_for(customer=ana, issued_by=marketplace[0])
    invoice_issue_for(customer=ana)  # issued by staff or the system
    assert set(invoice_list(client=app_own[0])) == app_docs


def test_a_client_of_own_reach_downloads_and_exchanges_its_own_documents(app_own: tuple[Any, str]) -> None:
    app, token = app_own
    ticket = invoice_issue_for(issued_by=app)
    assert invoice_render(invoice_id=ticket.pk)
    app_api = token_api(token)
    assert app_api.get(urls_of(ticket.pk)["pdf"]).status_code == 200
    exchanged = app_api.post(f"/api/v1/invoices/{ticket.pk}/exchange/", COMPANY)
    assert exchanged.status_code == 201
    # The full invoice is issued for the client that asked: it keeps reaching it.
    assert app_api.get(f"/api/v1/invoices/{exchanged.json()['id']}/").status_code == 200


def test_a_client_reaching_every_customer_sees_every_document(
    web_client: tuple[Any, str], marketplace: tuple[Any, str]
) -> None:
    documents = {
        invoice_issue_for(customer=CustomerFactory.create(), issued_by=marketplace[0]).number,
        invoice_issue_for(issued_by=web_client[0]).number,
        invoice_issue_for().number,
    }
    assert web_client[0].reaches_all
    listed = token_api(web_client[1]).get("/api/v1/invoices/").json()["results"]
    assert {row["number"] for row in listed} == documents


def test_staff_invoice_list_is_every_document(marketplace: tuple[Any, str]) -> None:
    documents = {invoice_issue_for(issued_by=marketplace[0]), invoice_issue_for()}
    assert set(invoice_list()) == documents


def test_a_client_of_own_reach_lists_in_the_same_queries_however_many_documents(
    app_own: tuple[Any, str], marketplace: tuple[Any, str], django_assert_max_num_queries: Any
) -> None:
    app, token = app_own
    app_api = token_api(token)
    invoice_issue_for(issued_by=app)
    with django_assert_max_num_queries(6) as few:
        app_api.get("/api/v1/invoices/")
    for _ in range(10):
        customer = CustomerFactory.create()
        invoice_issue_for(customer=customer, issued_by=app)
        invoice_issue_for(customer=customer, issued_by=marketplace[0])
    with django_assert_max_num_queries(6) as many:
        assert app_api.get("/api/v1/invoices/").json()["count"] == 11
    assert len(few.captured_queries) == len(many.captured_queries)


def test_the_schema_says_who_may_call_each_invoice_operation(client: Client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    declared = {
        (path, method): (operation.get("x-required-scope"), operation.get("x-staff-permissions"))
        for path, operations in paths.items()
        if path.startswith("/api/v1/invoices/")
        for method, operation in operations.items()
    }
    read = ("invoices:read", ["invoicing.view_invoice"])
    assert declared == {
        ("/api/v1/invoices/", "get"): read,
        ("/api/v1/invoices/{id}/", "get"): read,
        ("/api/v1/invoices/{id}/pdf/", "get"): read,
        ("/api/v1/invoices/{id}/xml/", "get"): read,
        ("/api/v1/invoices/{id}/exchange/", "post"): ("invoices:write", ["invoicing.add_invoice"]),
        ("/api/v1/invoices/export/", "get"): (None, ["invoicing.export_invoices"]),
    }


def test_a_credit_note_staff_issue_stays_with_the_client_the_original_was_for(marketplace: tuple[Any, str]) -> None:
    original = invoice_issue_for(issued_by=marketplace[0])

    credit = invoice_credit(invoice=original, reason="Devolución en tienda")

    assert credit.issued_by == marketplace[0]
    assert credit in invoice_list(client=marketplace[0])


def test_a_full_invoice_staff_exchange_for_a_ticket_stays_with_the_tickets_client(
    marketplace: tuple[Any, str],
) -> None:
    ticket = invoice_issue_for(issued_by=marketplace[0])

    full = invoice_ticket_exchange(ticket=ticket, buyer=Buyer(**COMPANY))

    assert full.issued_by == marketplace[0]


def test_a_ticket_another_channel_exchanges_stays_with_the_tickets_client(
    marketplace: tuple[Any, str], web_client: tuple[Any, str]
) -> None:
    ticket = invoice_issue_for(issued_by=marketplace[0])

    response = token_api(web_client[1]).post(f"/api/v1/invoices/{ticket.pk}/exchange/", COMPANY)

    assert response.status_code == 201, response.content
    full = Invoice.objects.get(pk=response.json()["id"])
    assert full.issued_by == marketplace[0]
    assert token_api(marketplace[1]).get(f"/api/v1/invoices/{full.pk}/").status_code == 200
