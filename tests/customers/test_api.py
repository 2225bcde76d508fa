"""The customers API: resolve, lookup, retrieve, preferences; permissions, error shape and query counts."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from config.channels import Channel
from customers.models import ContactPoint, Customer, CustomerEvent
from tests.factories import (
    ContactPointFactory,
    CustomerEventFactory,
    CustomerFactory,
    UserFactory,
    channel_client,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
RESOLVE = f"{CUSTOMERS}resolve/"
LOOKUP = f"{CUSTOMERS}lookup/"
STAFF_ONLY_FIELDS = {"notes", "erased_at", "created_at", "first_seen_channel"}


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def detail(customer: Customer, action: str = "") -> str:
    return f"{CUSTOMERS}{customer.pk}/{action + '/' if action else ''}"


def token_api(channel: str) -> APIClient:
    """An API client authenticated as a new client of this channel."""
    _, token = channel_client(channel)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def staff_api(staff_user: Any) -> APIClient:
    client = APIClient()
    client.force_login(staff_user)
    return client


def phone_customer(**fields: Any) -> Customer:
    customer = CustomerFactory.create(**fields)
    ContactPointFactory.create(customer=customer, kind="phone", value="+34612345678")
    return customer


# Resolve


def test_resolve_new_identity_creates_customer_with_201(api: APIClient) -> None:
    response = api.post(RESOLVE, {"identities": [{"kind": "email", "value": "Ana@Example.com "}], "name": "Ana"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] is True
    customer = Customer.objects.get()
    assert body["customer"]["id"] == customer.pk
    assert body["customer"]["name"] == "Ana"
    [identity] = body["customer"]["identities"]
    assert (identity["kind"], identity["normalised_value"]) == ("email", "ana@example.com")


def test_resolve_known_identity_returns_existing_customer_with_200(api: APIClient) -> None:
    existing = phone_customer()

    response = api.post(RESOLVE, {"identities": [{"kind": "phone", "value": "0034 612-345-678"}]})

    assert response.status_code == 200, response.content
    assert response.json()["created"] is False
    assert response.json()["customer"]["id"] == existing.pk
    assert Customer.objects.count() == 1


def test_resolve_attaches_new_identities_to_existing_customer(api: APIClient) -> None:
    existing = phone_customer()

    response = api.post(
        RESOLVE,
        {"identities": [{"kind": "phone", "value": "612 34 56 78"}, {"kind": "instagram", "value": "@Ana.Shop"}]},
    )

    assert response.status_code == 200
    assert set(existing.contact_points.values_list("kind", "normalised_value")) == {
        ("phone", "+34612345678"),
        ("instagram", "ana.shop"),
    }


def test_resolve_channel_comes_from_the_credential_not_the_body() -> None:
    app_api = token_api(Channel.APP)

    response = app_api.post(
        RESOLVE,
        {"identities": [{"kind": "app_device", "value": "device-123"}], "channel": "web", "first_seen_channel": "web"},
    )

    assert response.status_code == 201, response.content
    customer = Customer.objects.get()
    assert customer.first_seen_channel == Channel.APP
    assert customer.contact_points.get().channel == Channel.APP


@pytest.mark.parametrize(
    ("identity", "field"),
    [
        ({"kind": "phone", "value": "12"}, "identities[0]"),
        ({"kind": "email", "value": "not-an-email"}, "identities[0]"),
        ({"kind": "whatsapp", "value": "abc"}, "identities[0]"),
    ],
)
def test_resolve_invalid_identity_is_400_with_field_errors_and_writes_nothing(
    api: APIClient, identity: dict[str, str], field: str
) -> None:
    response = api.post(RESOLVE, {"identities": [identity], "name": "Nobody"})

    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid")
    assert response.json()["error"]["fields"][field]
    assert not Customer.objects.exists()
    assert not ContactPoint.objects.exists()


def test_resolve_with_one_bad_identity_among_good_ones_writes_nothing(api: APIClient) -> None:
    response = api.post(
        RESOLVE, {"identities": [{"kind": "email", "value": "ana@example.com"}, {"kind": "phone", "value": "12"}]}
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"identities[1]"}
    assert not Customer.objects.exists()
    assert not ContactPoint.objects.exists()


def test_resolve_unknown_identity_kind_is_400(api: APIClient) -> None:
    response = api.post(RESOLVE, {"identities": [{"kind": "fax", "value": "123"}]})

    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid")
    assert "identities" in response.json()["error"]["fields"]
    assert not Customer.objects.exists()


def test_resolve_without_identities_is_400(api: APIClient) -> None:
    response = api.post(RESOLVE, {"identities": []})

    assert response.status_code == 400
    assert "identities" in response.json()["error"]["fields"]


# Lookup


def test_lookup_phone_typed_nationally_finds_the_e164_customer(api: APIClient) -> None:
    customer = phone_customer()

    response = api.get(LOOKUP, {"kind": "phone", "value": "612 34 56 78"})

    assert response.status_code == 200, response.content
    assert response.json()["id"] == customer.pk


def test_lookup_unknown_identity_is_404(api: APIClient) -> None:
    phone_customer()

    response = api.get(LOOKUP, {"kind": "email", "value": "nobody@example.com"})

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_lookup_malformed_value_is_400_on_value(api: APIClient) -> None:
    response = api.get(LOOKUP, {"kind": "phone", "value": "not a phone"})

    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid")
    assert response.json()["error"]["fields"]["value"]


def test_lookup_unknown_kind_is_400_on_kind(api: APIClient) -> None:
    response = api.get(LOOKUP, {"kind": "fax", "value": "123"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["kind"]


def test_lookup_of_an_erased_customer_is_404_for_channels(api: APIClient) -> None:
    customer = phone_customer()
    Customer.objects.filter(pk=customer.pk).update(erased_at=timezone.now())

    response = api.get(LOOKUP, {"kind": "phone", "value": "+34612345678"})

    assert response.status_code == 404


def lookup_queries(api: APIClient) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(LOOKUP, {"kind": "phone", "value": "612 34 56 78"})
    assert response.status_code == 200, response.content
    return len(queries)


def test_lookup_queries_do_not_grow_with_identities_or_events(
    api: APIClient, django_assert_max_num_queries: Any
) -> None:
    customer = phone_customer()
    CustomerEventFactory.create(customer=customer)
    few = lookup_queries(api)
    ContactPointFactory.create_batch(19, customer=customer)
    CustomerEventFactory.create_batch(19, customer=customer)

    many = lookup_queries(api)

    assert many == few
    with django_assert_max_num_queries(3):
        response = api.get(LOOKUP, {"kind": "phone", "value": "612 34 56 78"})
    assert len(response.json()["identities"]) == 20


# Retrieve: channels never see staff-only fields


def test_retrieve_for_a_channel_has_no_staff_only_fields(api: APIClient) -> None:
    customer = phone_customer(notes="Complained about delivery")

    response = api.get(detail(customer))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == customer.pk
    assert not STAFF_ONLY_FIELDS & set(body)
    assert "Complained" not in response.content.decode()


@pytest.mark.parametrize("url", [RESOLVE, LOOKUP])
def test_resolve_and_lookup_for_a_channel_have_no_staff_only_fields(api: APIClient, url: str) -> None:
    phone_customer(notes="VIP")
    identity = {"kind": "phone", "value": "+34612345678"}

    response = api.post(url, {"identities": [identity]}) if url == RESOLVE else api.get(url, identity)

    assert response.status_code == 200, response.content
    customer = response.json()["customer"] if url == RESOLVE else response.json()
    assert not STAFF_ONLY_FIELDS & set(customer)


def test_retrieve_for_staff_shows_staff_only_fields(staff_api: APIClient) -> None:
    customer = phone_customer(notes="VIP", first_seen_channel=Channel.STORE)

    response = staff_api.get(detail(customer))

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= STAFF_ONLY_FIELDS
    assert (body["notes"], body["first_seen_channel"], body["erased_at"]) == ("VIP", "store", None)


def test_retrieve_of_an_erased_customer_is_404_for_channels(api: APIClient) -> None:
    customer = CustomerFactory.create(erased_at=timezone.now())

    response = api.get(detail(customer))

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_retrieve_of_an_erased_customer_is_visible_to_staff(staff_api: APIClient) -> None:
    customer = CustomerFactory.create(erased_at=timezone.now())

    response = staff_api.get(detail(customer))

    assert response.status_code == 200
    assert response.json()["erased_at"] is not None


@pytest.mark.parametrize("action", ["", "consents", "recently-viewed", "recent-searches", "loyalty"])
def test_channel_endpoints_of_an_erased_customer_are_404(api: APIClient, action: str) -> None:
    customer = CustomerFactory.create(erased_at=timezone.now())

    assert api.get(detail(customer, action)).status_code == 404


def test_retrieve_unknown_customer_is_404(api: APIClient) -> None:
    response = api.get(f"{CUSTOMERS}999999/")

    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


# Preferences


def test_patch_updates_preferences(api: APIClient) -> None:
    customer = CustomerFactory.create(country="ES")

    response = api.patch(
        detail(customer),
        {
            "preferred_language": "en",
            "preferred_contact_channel": "whatsapp",
            "country": "ar",
            "tax_id": "20-26756539-3",
        },
    )

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.preferred_language, customer.preferred_contact_channel) == ("en", "whatsapp")
    assert (customer.country, customer.tax_id) == ("AR", "20267565393")
    assert response.json()["tax_id"] == "20267565393"
    assert not STAFF_ONLY_FIELDS & set(response.json())


def test_patch_spanish_nif_is_stored_compact(api: APIClient) -> None:
    customer = CustomerFactory.create(country="ES")

    response = api.patch(detail(customer), {"tax_id": "12345678-z"})

    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert customer.tax_id == "12345678Z"


def test_patch_invalid_tax_id_is_400_and_changes_nothing(api: APIClient) -> None:
    customer = CustomerFactory.create(country="ES", preferred_language="es", tax_id="")
    before = customer.updated_at

    response = api.patch(detail(customer), {"preferred_language": "en", "tax_id": "12345678A"})

    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid")
    assert response.json()["error"]["fields"]["tax_id"]
    customer.refresh_from_db()
    assert (customer.preferred_language, customer.tax_id, customer.updated_at) == ("es", "", before)


@pytest.mark.parametrize(
    ("field", "value"),
    [("preferred_language", "fr"), ("preferred_contact_channel", "pigeon"), ("country", "ESP")],
)
def test_patch_invalid_preference_is_400_on_that_field(api: APIClient, field: str, value: str) -> None:
    customer = CustomerFactory.create()

    response = api.patch(detail(customer), {field: value})

    assert response.status_code == 400
    assert response.json()["error"]["fields"][field]


def test_patch_cannot_change_staff_only_fields(api: APIClient) -> None:
    customer = CustomerFactory.create(notes="", first_seen_channel=Channel.WEB)

    api.patch(detail(customer), {"notes": "hacked", "first_seen_channel": "store", "erased_at": "2020-01-01T00:00Z"})

    customer.refresh_from_db()
    assert (customer.notes, customer.first_seen_channel, customer.erased_at) == ("", "web", None)


# Authentication and permissions


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", RESOLVE),
        ("get", f"{LOOKUP}?kind=email&value=a@example.com"),
        ("get", f"{CUSTOMERS}1/"),
        ("patch", f"{CUSTOMERS}1/"),
        ("get", f"{CUSTOMERS}1/timeline/"),
        ("get", f"{CUSTOMERS}1/export/"),
        ("post", "/api/v1/events/"),
        ("get", "/api/v1/segments/"),
    ],
)
def test_request_without_token_is_401(anonymous_api: APIClient, method: str, url: str) -> None:
    response = getattr(anonymous_api, method)(url, {})

    assert response.status_code == 401
    assert_error_shape(response.json(), "not_authenticated")


def test_signed_in_non_staff_user_is_403(anonymous_api: APIClient) -> None:
    customer = CustomerFactory.create()
    anonymous_api.force_login(UserFactory.create(is_staff=False))

    response = anonymous_api.get(detail(customer))

    assert response.status_code == 403
    assert_error_shape(response.json(), "permission_denied")


@pytest.mark.parametrize("action", ["timeline", "export"])
def test_staff_only_endpoints_are_403_for_channel_clients(api: APIClient, action: str) -> None:
    customer = CustomerFactory.create()

    response = api.get(detail(customer, action))

    assert response.status_code == 403
    assert_error_shape(response.json(), "permission_denied")


def test_timeline_for_staff_lists_events_newest_first(staff_api: APIClient) -> None:
    customer = CustomerFactory.create()
    now = timezone.now()
    old = CustomerEventFactory.create(customer=customer, occurred_at=now - timedelta(days=2))
    new = CustomerEventFactory.create(customer=customer, occurred_at=now, channel=Channel.APP)
    CustomerEventFactory.create()  # someone else's

    response = staff_api.get(detail(customer, "timeline"))

    assert response.status_code == 200
    assert [event["id"] for event in response.json()["results"]] == [new.pk, old.pk]


def test_export_for_staff_is_200(staff_api: APIClient) -> None:
    customer = phone_customer()

    response = staff_api.get(detail(customer, "export"))

    assert response.status_code == 200
    assert response.json()["customer"]["id"] == customer.pk
    assert response.json()["related"]["customers.ContactPoint.customer"]


def test_staff_resolving_in_the_back_office_acts_as_the_store(staff_api: APIClient) -> None:
    response = staff_api.post(RESOLVE, {"identities": [{"kind": "loyalty_card", "value": "LC-1"}]})

    assert response.status_code == 201, response.content
    assert Customer.objects.get().first_seen_channel == Channel.STORE
    assert not CustomerEvent.objects.exists()


def test_staff_in_the_back_office_act_for_the_store_channel(client: Any, staff_user: Any) -> None:
    client.force_login(staff_user)

    response = client.post(
        "/api/v1/customers/resolve/",
        {"identities": [{"kind": "email", "value": "walkin@example.com"}]},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert Customer.objects.get(pk=response.json()["customer"]["id"]).first_seen_channel == "store"
