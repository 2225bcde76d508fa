"""Privacy: export everything held about a customer; erase personal data but keep the aggregates."""

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from config.channels import Channel
from customers import services
from customers.models import ContactPoint, Customer, CustomerEvent, CustomerMerge, DuplicateCandidate
from tests.factories import ConsentFactory, ContactPointFactory, CustomerEventFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana() -> Customer:
    """A customer with identities, a timeline, a consent and loyalty points."""
    customer = CustomerFactory.create(
        name="Ana García",
        birth_date=date(1990, 5, 17),
        country="ES",
        city="Madrid",
        tax_id="12345678Z",
        notes="Prefers evening deliveries",
    )
    ContactPointFactory.create(customer=customer, kind="email", value="ana@example.com")
    ContactPointFactory.create(customer=customer, kind="phone", value="+34612345678")
    CustomerEventFactory.create(
        customer=customer,
        kind="store_visit",
        channel=Channel.STORE,
        sku="",
        location_code="MAD-01",
        payload={"assistant": "Luis", "note": "asked for size M"},
    )
    CustomerEventFactory.create(customer=customer, kind="search", sku="", query="vestido rojo", payload={"page": 2})
    CustomerEventFactory.create(customer=customer, kind="product_viewed", sku="TEE-M", payload={"from": "email"})
    ConsentFactory.create(customer=customer, channel="email", purpose="marketing", granted=True)
    services.loyalty_earn(customer=customer, amount=Decimal("42.50"), reference="ORDER-1", channel=Channel.WEB)
    return customer


# Export


def test_export_contains_the_profile(ana: Customer) -> None:
    exported = services.customer_export(customer=ana)

    profile = exported["customer"]
    assert profile["id"] == ana.pk
    assert (profile["name"], profile["birth_date"], profile["tax_id"]) == ("Ana García", "1990-05-17", "12345678Z")
    assert (profile["city"], profile["notes"]) == ("Madrid", "Prefers evening deliveries")
    assert profile["created_at"]


def test_export_contains_every_related_row(ana: Customer) -> None:
    CustomerEventFactory.create()  # someone else's

    related = services.customer_export(customer=ana)["related"]

    identities = {row["normalised_value"] for row in related["customers.ContactPoint.customer"]}
    assert identities == {"ana@example.com", "+34612345678"}
    events = related["customers.CustomerEvent.customer"]
    assert {row["id"] for row in events} == set(ana.events.values_list("pk", flat=True))
    assert {"assistant": "Luis", "note": "asked for size M"} in [row["payload"] for row in events]
    [consent] = related["customers.Consent.customer"]
    assert (consent["channel"], consent["purpose"], consent["granted"]) == ("email", "marketing", True)
    [account] = related["customers.LoyaltyAccount.customer"]
    assert account["balance"] == 42


def test_export_contains_the_loyalty_ledger(ana: Customer) -> None:
    exported = services.customer_export(customer=ana)

    # The points history (what was earned, for which order) is data held about the customer too.
    assert "ORDER-1" in json.dumps(exported)


def test_export_is_json_serialisable(ana: Customer) -> None:
    exported = services.customer_export(customer=ana)

    assert json.loads(json.dumps(exported)) == exported


def test_export_of_a_customer_with_nothing_related_has_only_the_profile() -> None:
    customer = CustomerFactory.create()

    exported = services.customer_export(customer=customer)

    assert exported["customer"]["id"] == customer.pk
    assert exported["related"] == {}


def test_export_through_the_staff_api(client: Any, staff_user: Any, ana: Customer) -> None:
    client.force_login(staff_user)

    response = client.get(f"/api/v1/customers/{ana.pk}/export/")

    assert response.status_code == 200
    assert response.json() == services.customer_export(customer=ana)


# Erase


def test_erase_anonymises_the_profile(ana: Customer) -> None:
    services.customer_erase(customer=ana)

    ana.refresh_from_db()
    assert (ana.name, ana.birth_date, ana.tax_id, ana.city, ana.notes) == ("", None, "", "", "")
    assert ana.erased_at is not None
    assert timezone.now() - ana.erased_at < timedelta(minutes=1)


def test_erase_deletes_identities(ana: Customer) -> None:
    other = ContactPointFactory.create()

    services.customer_erase(customer=ana)

    assert list(ContactPoint.objects.all()) == [other]


def test_erase_scrubs_event_details_but_keeps_the_events(ana: Customer) -> None:
    before = set(ana.events.values_list("pk", "kind", "channel", "occurred_at", "sku"))
    someone_else = CustomerEventFactory.create(query="camiseta", payload={"keep": True}, location_code="BCN")

    services.customer_erase(customer=ana)

    assert set(ana.events.values_list("pk", "kind", "channel", "occurred_at", "sku")) == before
    assert list(ana.events.values_list("payload", "query", "location_code")) == [({}, "", "")] * len(before)
    someone_else.refresh_from_db()
    assert (someone_else.query, someone_else.payload, someone_else.location_code) == ("camiseta", {"keep": True}, "BCN")


def test_erase_keeps_the_loyalty_balance(ana: Customer) -> None:
    services.customer_erase(customer=ana)

    ana.refresh_from_db()
    assert ana.loyalty_account.balance == 42


def test_erase_drops_duplicate_candidates(ana: Customer) -> None:
    other = CustomerFactory.create()
    services.duplicate_candidates_record(customer=ana, others=[other], reason="shared_email")

    services.customer_erase(customer=ana)

    assert not DuplicateCandidate.objects.exists()


def test_erase_leaves_no_copy_of_personal_data_in_merge_audit(ana: Customer) -> None:
    old_profile = CustomerFactory.create(name="Ana G.", birth_date=date(1990, 5, 17), tax_id="12345678Z")
    ContactPointFactory.create(customer=old_profile, kind="instagram", value="ana.g")
    services.customer_merge(keep=ana, remove=old_profile)

    services.customer_erase(customer=ana)

    audit = json.dumps(list(CustomerMerge.objects.filter(customer=ana).values("removed_snapshot")))
    for personal in ("Ana G.", "1990-05-17", "12345678Z", "ana.g"):
        assert personal not in audit


def test_after_erase_the_old_email_resolves_to_a_new_customer(ana: Customer) -> None:
    services.customer_erase(customer=ana)

    resolution = services.customer_resolve(
        identities=[{"kind": "email", "value": "ana@example.com"}], channel=Channel.WEB
    )

    assert resolution.created is True
    assert resolution.customer.pk != ana.pk
    assert resolution.customer.erased_at is None


def test_after_erase_the_old_email_resolves_to_a_new_customer_through_the_api(api: APIClient, ana: Customer) -> None:
    services.customer_erase(customer=ana)

    response = api.post("/api/v1/customers/resolve/", {"identities": [{"kind": "email", "value": "ana@example.com"}]})

    assert response.status_code == 201
    assert response.json()["customer"]["id"] != ana.pk


def test_after_erase_events_of_the_old_phone_go_to_a_new_customer(api: APIClient, ana: Customer) -> None:
    services.customer_erase(customer=ana)
    event = {
        "client_event_id": "after-erase",
        "kind": "cart_updated",
        "occurred_at": timezone.now().isoformat(),
        "identity": {"kind": "phone", "value": "612 34 56 78"},
    }

    response = api.post("/api/v1/events/", {"events": [event]})

    [result] = response.json()["results"]
    assert result["status"] == "created"
    assert result["customer_id"] != ana.pk
    assert CustomerEvent.objects.get(client_event_id="after-erase").customer_id == result["customer_id"]


@pytest.mark.parametrize(("kind", "value"), [("email", "ana@example.com"), ("phone", "612 34 56 78")])
def test_after_erase_lookup_of_an_old_identity_is_404(api: APIClient, ana: Customer, kind: str, value: str) -> None:
    services.customer_erase(customer=ana)

    response = api.get("/api/v1/customers/lookup/", {"kind": kind, "value": value})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_after_erase_the_customer_is_not_in_any_audience(ana: Customer) -> None:
    from customers.selectors import customer_list_reachable

    services.customer_erase(customer=ana)

    assert not customer_list_reachable(channel="email", purpose="marketing").filter(pk=ana.pk).exists()
    assert Customer.objects.filter(pk=ana.pk).exists()
