"""Staff find any customer by any identity, see everything about them, and work the duplicate queue."""

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from config.roles import Role
from customers import services
from customers.models import Customer, CustomerMerge, DuplicateCandidate, DuplicateStatus, Segment, StoreCreditEntry
from tests.factories import (
    CustomerEventFactory,
    CustomerFactory,
    LocationFactory,
    customer_with_email,
    staff_with_role,
)

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/customers/customer/"


def resolved(*identities: tuple[str, str], name: str = "") -> Customer:
    return services.customer_resolve(
        identities=[{"kind": kind, "value": value} for kind, value in identities], name=name, channel="web"
    ).customer


@pytest.mark.parametrize(
    "typed",
    ["612 34 56 78", "+34 612-345-678", "0034612345678", "ANA@Example.com", "@Ana.Lopez", "12345678-z"],
)
def test_search_finds_a_customer_by_any_identity_as_typed(admin_client: Client, typed: str) -> None:
    ana = resolved(
        ("phone", "+34612345678"), ("email", "ana@example.com"), ("instagram", "ana.lopez"), name="Ana López"
    )
    services.customer_update(customer=ana, tax_id="12345678Z", country="ES")
    resolved(("email", "otro@example.com"), name="Otro Cliente")

    page = admin_client.get(CHANGELIST, {"q": typed}).content.decode()

    assert "Ana López" in page
    assert "Otro Cliente" not in page


def test_change_page_shows_identities_timeline_and_loyalty(admin_client: Client) -> None:
    ana = resolved(("email", "ana@example.com"), ("whatsapp", "612345678"), name="Ana")
    CustomerEventFactory.create(customer=ana, kind="search", sku="", query="chaqueta plumas")
    services.loyalty_earn(customer=ana, amount=Decimal("80"), reference="O-1", channel="web")

    page = admin_client.get(f"{CHANGELIST}{ana.pk}/change/").content.decode()

    assert "+34612345678" in page
    assert "chaqueta plumas" in page
    assert '<div class="readonly">80</div>' in page


def test_staff_edit_with_a_bad_tax_id_is_refused_on_the_field(admin_client: Client) -> None:
    ana = CustomerFactory.create(name="Ana")
    response = admin_client.post(
        f"{CHANGELIST}{ana.pk}/change/",
        {
            "name": "Ana",
            "country": "ES",
            "tax_id": "123",
            "city": "",
            "preferred_language": "",
            "preferred_contact_channel": "",
            "notes": "",
            "contact_points-TOTAL_FORMS": "0",
            "contact_points-INITIAL_FORMS": "0",
            "consents-TOTAL_FORMS": "0",
            "consents-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "tax id" in response.content.decode().lower()
    ana.refresh_from_db()
    assert ana.tax_id == ""


def test_merge_action_keeps_the_older_profile(admin_client: Client) -> None:
    older = resolved(("email", "ana@example.com"), name="Ana")
    newer = resolved(("phone", "612345678"), name="Ana L.")
    services.duplicate_candidates_record(customer=older, others=[newer], reason="same_name_birth_date")
    pair = DuplicateCandidate.objects.get()

    admin_client.post(
        "/admin/customers/duplicatecandidate/", {"action": "merge_into_older", "_selected_action": [pair.pk]}
    )

    assert list(Customer.objects.values_list("pk", flat=True)) == [older.pk]
    assert CustomerMerge.objects.get().removed_customer_id == newer.pk
    assert set(older.contact_points.values_list("normalised_value", flat=True)) == {"ana@example.com", "+34612345678"}


def test_dismiss_action_closes_the_pair_without_merging(admin_client: Client) -> None:
    first, second = CustomerFactory.create(), CustomerFactory.create()
    services.duplicate_candidates_record(customer=first, others=[second], reason="shared_tax_id")
    pair = DuplicateCandidate.objects.get()

    admin_client.post("/admin/customers/duplicatecandidate/", {"action": "dismiss", "_selected_action": [pair.pk]})

    pair.refresh_from_db()
    assert pair.status == DuplicateStatus.DISMISSED
    assert Customer.objects.count() == 2


def test_export_action_downloads_everything_as_json(admin_client: Client) -> None:
    ana = resolved(("email", "ana@example.com"), name="Ana")
    response = admin_client.post(CHANGELIST, {"action": "export_json", "_selected_action": [ana.pk]})
    data = json.loads(response.content)
    assert data[0]["customer"]["name"] == "Ana"
    assert data[0]["related"]["customers.ContactPoint.customer"][0]["normalised_value"] == "ana@example.com"


def test_the_export_action_is_offered_to_a_team_lead(client: Client) -> None:
    ana = resolved(("email", "ana@example.com"), name="Ana")
    client.force_login(staff_with_role(Role.TEAM_LEAD))

    assert 'value="export_json"' in client.get(CHANGELIST).content.decode()
    response = client.post(CHANGELIST, {"action": "export_json", "_selected_action": [ana.pk]})

    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)[0]["customer"]["id"] == ana.pk


def test_an_agent_without_the_export_permission_cannot_export(client: Client) -> None:
    ana = resolved(("email", "ana@example.com"), name="Ana")
    client.force_login(staff_with_role(Role.AGENT))

    page = client.get(CHANGELIST)
    response = client.post(CHANGELIST, {"action": "export_json", "_selected_action": [ana.pk]})

    assert page.status_code == 200
    assert 'value="export_json"' not in page.content.decode()
    assert response["Content-Type"].startswith("text/html")  # the list again, nothing downloaded


def test_erase_action_anonymises(admin_client: Client) -> None:
    ana = resolved(("email", "ana@example.com"), name="Ana")
    admin_client.post(CHANGELIST, {"action": "erase", "_selected_action": [ana.pk]})
    ana.refresh_from_db()
    assert ana.erased_at is not None
    assert ana.name == ""
    assert not ana.contact_points.exists()


def test_segment_shows_its_member_count_and_exports_members(admin_client: Client) -> None:
    CustomerFactory.create(name="Ana", country="ES")
    CustomerFactory.create(name="Juan", country="AR")
    segment = Segment.objects.create(name="España", rules={"country": ["ES"]})

    changelist = admin_client.get("/admin/customers/segment/").content.decode()
    export = admin_client.post(
        "/admin/customers/segment/", {"action": "export_members_csv", "_selected_action": [segment.pk]}
    )

    assert '<td class="field-member_count">1</td>' in changelist
    rows = export.content.decode().strip().splitlines()
    assert len(rows) == 2
    assert "Ana" in rows[1]


def test_segment_with_an_unknown_rule_is_refused(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/customers/segment/add/", {"name": "Malo", "description": "", "rules": '{"shoe_size": 42}'}
    )
    assert response.status_code == 200
    assert not Segment.objects.exists()


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_customer_changelist_queries_do_not_grow_with_customers(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    for n in range(5):
        resolved(("email", f"c{n}@example.com"), ("phone", f"61234560{n}"), name=f"C{n}")
    few = count_queries(admin_client, CHANGELIST)
    for n in range(5, 50):
        resolved(("email", f"c{n}@example.com"), ("phone", f"6123456{n:02d}"), name=f"C{n}")

    assert count_queries(admin_client, CHANGELIST) == few
    with django_assert_max_num_queries(12):
        admin_client.get(CHANGELIST, {"q": "c7@example.com"})


def test_segment_members_export_is_not_offered_to_staff_who_may_not_read_customers(client: Client) -> None:
    segment = Segment.objects.create(name="España", rules={"country": ["ES"]})
    keeper = staff_with_role(Role.STORE_STAFF)
    keeper.user_permissions.add(Permission.objects.get(codename="view_segment"))
    client.force_login(keeper)

    response = client.post(
        "/admin/customers/segment/", {"action": "export_members_csv", "_selected_action": [segment.pk]}
    )

    assert not response["Content-Type"].startswith("text/csv")


def test_no_page_deletes_a_customer_row_erasing_is_the_way(client: Client) -> None:
    ana = CustomerFactory.create(name="Ana")
    client.force_login(staff_with_role(Role.TEAM_LEAD))

    page = client.get(f"/admin/customers/customer/{ana.pk}/delete/")
    changelist = client.get(CHANGELIST)

    assert page.status_code == 403
    assert "delete_selected" not in changelist.content.decode()
    assert 'value="erase"' in changelist.content.decode()
    assert Customer.objects.filter(pk=ana.pk).exists()


# --- The store-credit ledger ---------------------------------------------------------------------

STORE_CREDIT = "/admin/customers/storecreditentry/"


def goodwill(customer: Customer, amount: str = "5.00", reference: str = "G-1") -> StoreCreditEntry:
    return services.store_credit_grant(
        customer=customer, amount=Decimal(amount), reference=reference, reason="goodwill"
    )


def test_store_credit_is_found_by_the_customers_identity(admin_client: Client) -> None:
    anas = goodwill(customer_with_email("ana@example.com", name="Ana García"))
    goodwill(customer_with_email("bruno@example.com", name="Bruno Díaz"), "7.00", "G-2")

    response = admin_client.get(STORE_CREDIT, {"q": "ana@example.com"})

    assert [entry.pk for entry in response.context["cl"].result_list] == [anas.pk]
    assert admin_client.get(f"{STORE_CREDIT}add/").status_code == 403
    assert StoreCreditEntry.objects.count() == 2


def test_store_credit_is_found_by_its_reference(admin_client: Client) -> None:
    goodwill(customer_with_email("ana@example.com", name="Ana García"))
    brunos = goodwill(customer_with_email("bruno@example.com", name="Bruno Díaz"), "7.00", "G-2")

    response = admin_client.get(STORE_CREDIT, {"q": "g-2"})

    assert [entry.pk for entry in response.context["cl"].result_list] == [brunos.pk]


def test_the_ledger_shows_each_entrys_customer_and_currency(admin_client: Client) -> None:
    goodwill(customer_with_email("ana@example.com", name="Ana García"))

    page = admin_client.get(STORE_CREDIT).content.decode()

    assert "Ana García" in page
    assert "EUR" in page


@pytest.mark.parametrize("role", [Role.STORE_STAFF, Role.STORE_MANAGER])
def test_store_staff_do_not_browse_the_store_credit_ledger(client: Client, role: Role) -> None:
    entry = goodwill(customer_with_email("ana@example.com", name="Ana García"))
    client.force_login(staff_with_role(role, LocationFactory.create(), username="tienda"))

    assert client.get(STORE_CREDIT).status_code == 403
    assert client.get(f"{STORE_CREDIT}{entry.pk}/change/").status_code == 403


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.ACCOUNTANT, Role.MANAGER])
def test_customer_service_accounts_and_managers_browse_the_store_credit_ledger(client: Client, role: Role) -> None:
    entry = goodwill(customer_with_email("ana@example.com", name="Ana García"))
    client.force_login(staff_with_role(role, username="servicio"))

    response = client.get(STORE_CREDIT)

    assert [row.pk for row in response.context["cl"].result_list] == [entry.pk]
