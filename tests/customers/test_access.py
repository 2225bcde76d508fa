"""Who may use the customers API: scopes per credential, permissions per staff role, reach per client.

Issue 15, finding 1: the locker token read, changed and consented for any customer, and listed
segment members. Finding 2: staff without customer permissions exported any customer (GDPR) and
read their timeline. Each client reaches only the customers it brought unless it is a first-party
channel reaching all; another client's customer answers exactly like a missing one.
"""

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from config.channels import Channel
from config.roles import Role
from config.scopes import Scope
from customers import selectors
from customers.models import BroughtCustomer, Consent, ContactPoint, Customer, Segment
from tests.api import staff_api, token_api
from tests.factories import (
    CustomerEventFactory,
    CustomerFactory,
    LocationFactory,
    channel_client,
    customer_with_email,
    staff_with_role,
)

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
RESOLVE = f"{CUSTOMERS}resolve/"
LOOKUP = f"{CUSTOMERS}lookup/"
EVENTS = "/api/v1/events/"
SEGMENTS = "/api/v1/segments/"
CONSENT = {"channel": "email", "purpose": "marketing", "granted": True, "source": "tick box"}


def detail(customer: Customer | int, action: str = "") -> str:
    pk = customer if isinstance(customer, int) else customer.pk
    return f"{CUSTOMERS}{pk}/{action + '/' if action else ''}"


def assert_missing_scope(response: Any, scope: Scope) -> None:
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert (error["code"], error["scope"]) == ("missing_scope", str(scope))


def brought_by(client: Any, **fields: Any) -> Customer:
    customer = CustomerFactory.create(**fields)
    BroughtCustomer.objects.create(client=client, customer=customer)
    return customer


@pytest.fixture
def locker() -> APIClient:
    """A locker's token: its default scopes (pickups:redeem only), bound to its locker."""
    _, token = channel_client(Channel.LOCKER, locations=[LocationFactory.create(kind="locker")])
    return token_api(token)


@pytest.fixture
def marketplace() -> tuple[Any, APIClient]:
    """A marketplace: selling scopes, reaches only the customers it brought."""
    client, token = channel_client(Channel.MARKETPLACE, name="Marketplace")
    return client, token_api(token)


@pytest.fixture
def web() -> APIClient:
    """The web shop: first party, reaches every customer."""
    _, token = channel_client(Channel.WEB, name="Web shop")
    return token_api(token)


@pytest.fixture
def ana() -> Customer:
    """A customer the web shop brought, with an identity, a consent and an event."""
    web_client, _ = channel_client(Channel.WEB, name="Web shop (Ana's)")
    customer = customer_with_email("ana@example.com", name="Ana", city="Sevilla")
    BroughtCustomer.objects.create(client=web_client, customer=customer)
    CustomerEventFactory.create(customer=customer)
    return customer


# Finding 1: the locker token has no business with customers


def test_locker_token_cannot_read_a_customer_profile(locker: APIClient, ana: Customer) -> None:
    response = locker.get(detail(ana))

    assert_missing_scope(response, Scope.CUSTOMERS_READ)
    assert "Ana" not in response.content.decode()


def test_locker_token_cannot_change_a_customers_city_or_contact_channel(locker: APIClient, ana: Customer) -> None:
    response = locker.patch(detail(ana), {"city": "Cádiz", "preferred_contact_channel": "whatsapp"})

    assert_missing_scope(response, Scope.CUSTOMERS_WRITE)
    ana.refresh_from_db()
    assert (ana.city, ana.preferred_contact_channel) == ("Sevilla", "")


def test_locker_token_cannot_record_a_marketing_consent(locker: APIClient, ana: Customer) -> None:
    response = locker.post(detail(ana, "consents"), CONSENT)

    assert_missing_scope(response, Scope.CUSTOMERS_WRITE)
    assert not Consent.objects.exists()


def test_locker_token_cannot_list_segment_members(locker: APIClient, ana: Customer) -> None:
    segment = Segment.objects.create(name="Sevilla", rules={"city": ["Sevilla"]})

    response = locker.get(f"{SEGMENTS}{segment.pk}/members/")

    assert_missing_scope(response, Scope.SEGMENTS_READ)
    assert "Ana" not in response.content.decode()


@pytest.mark.parametrize(
    ("method", "action", "scope"),
    [
        ("get", "", Scope.CUSTOMERS_READ),
        ("get", "consents", Scope.CUSTOMERS_READ),
        ("get", "recently-viewed", Scope.CUSTOMERS_READ),
        ("get", "recent-searches", Scope.CUSTOMERS_READ),
        ("get", "loyalty", Scope.CUSTOMERS_READ),
    ],
)
def test_locker_token_is_refused_every_customer_read_naming_the_scope(
    locker: APIClient, ana: Customer, method: str, action: str, scope: Scope
) -> None:
    assert_missing_scope(getattr(locker, method)(detail(ana, action)), scope)


def test_locker_token_cannot_look_a_customer_up(locker: APIClient, ana: Customer) -> None:
    assert_missing_scope(locker.get(LOOKUP, {"kind": "email", "value": "ana@example.com"}), Scope.CUSTOMERS_READ)


def test_locker_token_cannot_resolve_identities(locker: APIClient) -> None:
    response = locker.post(RESOLVE, {"identities": [{"kind": "email", "value": "new@example.com"}]})

    assert_missing_scope(response, Scope.CUSTOMERS_WRITE)
    assert not Customer.objects.exists()


def test_locker_token_cannot_report_events(locker: APIClient) -> None:
    assert_missing_scope(locker.post(EVENTS, {"events": []}), Scope.EVENTS_WRITE)


def test_locker_token_cannot_list_segments(locker: APIClient) -> None:
    assert_missing_scope(locker.get(SEGMENTS), Scope.SEGMENTS_READ)


def test_a_client_with_read_but_not_write_cannot_change_a_preference(ana: Customer) -> None:
    _, token = channel_client(Channel.WEB, scopes=[Scope.CUSTOMERS_READ])

    response = token_api(token).patch(detail(ana), {"preferred_contact_channel": "whatsapp"})

    assert_missing_scope(response, Scope.CUSTOMERS_WRITE)
    ana.refresh_from_db()
    assert ana.preferred_contact_channel == ""


def test_a_client_with_read_but_not_write_still_reads_the_profile(ana: Customer) -> None:
    _, token = channel_client(Channel.WEB, scopes=[Scope.CUSTOMERS_READ])

    assert token_api(token).get(detail(ana)).status_code == 200


# Finding 2: staff act as their role allows, as in the admin


@pytest.fixture
def store_staff() -> APIClient:
    return staff_api(staff_with_role(Role.STORE_STAFF, LocationFactory.create()))


@pytest.fixture
def agent() -> APIClient:
    return staff_api(staff_with_role(Role.AGENT))


@pytest.fixture
def team_lead() -> APIClient:
    return staff_api(staff_with_role(Role.TEAM_LEAD))


def test_store_staff_cannot_export_a_customer(store_staff: APIClient, ana: Customer) -> None:
    response = store_staff.get(detail(ana, "export"))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "ana@example.com" not in response.content.decode()


def test_store_staff_cannot_read_a_customer_timeline(store_staff: APIClient, ana: Customer) -> None:
    response = store_staff.get(detail(ana, "timeline"))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "{detail}", None),
        ("patch", "{detail}", {"city": "Cádiz"}),
        ("get", "{detail}consents/", None),
        ("post", "{detail}consents/", CONSENT),
        ("get", "{detail}recently-viewed/", None),
        ("get", "{detail}recent-searches/", None),
        ("get", "{detail}loyalty/", None),
        ("get", f"{LOOKUP}?kind=email&value=ana@example.com", None),
        ("post", RESOLVE, {"identities": [{"kind": "email", "value": "new@example.com"}]}),
        ("get", SEGMENTS, None),
    ],
)
def test_store_staff_without_customer_permissions_are_refused(
    store_staff: APIClient, ana: Customer, method: str, url: str, body: dict[str, Any] | None
) -> None:
    response = getattr(store_staff, method)(url.format(detail=detail(ana)), body, format="json")

    assert response.status_code == 403
    ana.refresh_from_db()
    assert ana.city == "Sevilla"
    assert not Consent.objects.exists()
    assert Customer.objects.count() == 1


def test_team_lead_may_export_a_customer(team_lead: APIClient, ana: Customer) -> None:
    response = team_lead.get(detail(ana, "export"))

    assert response.status_code == 200
    assert response.json()["customer"]["id"] == ana.pk


def test_agent_may_not_export_a_customer(agent: APIClient, ana: Customer) -> None:
    assert agent.get(detail(ana, "export")).status_code == 403


def test_agent_may_read_the_timeline(agent: APIClient, ana: Customer) -> None:
    response = agent.get(detail(ana, "timeline"))

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("get", "", None),
        ("patch", "", {"city": "Cádiz"}),
        ("get", "consents", None),
        ("post", "consents", CONSENT),
        ("get", "recently-viewed", None),
        ("get", "recent-searches", None),
        ("get", "loyalty", None),
    ],
)
def test_agent_serves_any_customer(
    agent: APIClient, ana: Customer, method: str, action: str, body: dict[str, Any] | None
) -> None:
    response = getattr(agent, method)(detail(ana, action), body, format="json")

    assert response.status_code in (200, 201), response.content


def test_agent_may_list_segment_members(agent: APIClient, ana: Customer) -> None:
    segment = Segment.objects.create(name="Sevilla", rules={"city": ["Sevilla"]})

    response = agent.get(f"{SEGMENTS}{segment.pk}/members/")

    assert response.status_code == 200
    assert [member["id"] for member in response.json()["results"]] == [ana.pk]


def test_accountant_cannot_read_customer_profiles(ana: Customer) -> None:
    assert staff_api(staff_with_role(Role.ACCOUNTANT)).get(detail(ana)).status_code == 403


# Finding 3: a client reaches the customers it brought; another's answers like a missing one


def test_marketplace_reads_a_customer_it_brought(marketplace: tuple[Any, APIClient]) -> None:
    client, api = marketplace
    luis = brought_by(client, name="Luis")

    response = api.get(detail(luis))

    assert response.status_code == 200
    assert response.json()["name"] == "Luis"


def test_marketplace_reading_another_clients_customer_is_404_like_a_missing_one(
    marketplace: tuple[Any, APIClient], ana: Customer
) -> None:
    _, api = marketplace
    missing = api.get(detail(Customer.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000))

    response = api.get(detail(ana))

    assert response.status_code == missing.status_code == 404
    assert response.content == missing.content


@pytest.mark.parametrize("action", ["consents", "recently-viewed", "recent-searches", "loyalty"])
def test_marketplace_reading_another_clients_customer_details_is_404(
    marketplace: tuple[Any, APIClient], ana: Customer, action: str
) -> None:
    _, api = marketplace

    assert api.get(detail(ana, action)).status_code == 404


def test_marketplace_cannot_change_another_clients_customer(marketplace: tuple[Any, APIClient], ana: Customer) -> None:
    _, api = marketplace

    response = api.patch(detail(ana), {"city": "Cádiz", "preferred_contact_channel": "whatsapp"})

    assert response.status_code == 404
    ana.refresh_from_db()
    assert (ana.city, ana.preferred_contact_channel) == ("Sevilla", "")


def test_marketplace_changes_the_contact_channel_of_its_own_customer(marketplace: tuple[Any, APIClient]) -> None:
    client, api = marketplace
    luis = brought_by(client)

    response = api.patch(detail(luis), {"preferred_contact_channel": "whatsapp"})

    assert response.status_code == 200, response.content
    luis.refresh_from_db()
    assert luis.preferred_contact_channel == "whatsapp"


def test_marketplace_cannot_record_a_consent_for_another_clients_customer(
    marketplace: tuple[Any, APIClient], ana: Customer
) -> None:
    _, api = marketplace

    response = api.post(detail(ana, "consents"), CONSENT)

    assert response.status_code == 404
    assert not Consent.objects.exists()


def test_marketplace_records_a_consent_for_its_own_customer(marketplace: tuple[Any, APIClient]) -> None:
    client, api = marketplace
    luis = brought_by(client)

    response = api.post(detail(luis, "consents"), CONSENT)

    assert response.status_code == 201, response.content
    assert Consent.objects.get().customer_id == luis.pk


def test_marketplace_lookup_of_another_clients_customer_is_404_like_an_unknown_identity(
    marketplace: tuple[Any, APIClient], ana: Customer
) -> None:
    _, api = marketplace
    unknown = api.get(LOOKUP, {"kind": "email", "value": "nobody@example.com"})

    response = api.get(LOOKUP, {"kind": "email", "value": "ana@example.com"})

    assert response.status_code == unknown.status_code == 404
    assert response.content == unknown.content


def test_marketplace_looks_up_its_own_customer(marketplace: tuple[Any, APIClient]) -> None:
    client, api = marketplace
    luis = customer_with_email("luis@example.com")
    BroughtCustomer.objects.create(client=client, customer=luis)

    response = api.get(LOOKUP, {"kind": "email", "value": "LUIS@example.com"})

    assert response.status_code == 200
    assert response.json()["id"] == luis.pk


def test_marketplace_does_not_reach_its_own_customer_once_erased(marketplace: tuple[Any, APIClient]) -> None:
    client, api = marketplace
    luis = brought_by(client, erased_at=timezone.now())

    assert api.get(detail(luis)).status_code == 404


def test_web_shop_reaches_a_customer_another_client_brought(web: APIClient, marketplace: tuple[Any, APIClient]) -> None:
    client, _ = marketplace
    luis = brought_by(client, name="Luis")

    response = web.patch(detail(luis), {"preferred_contact_channel": "email"})

    assert response.status_code == 200
    assert response.json()["name"] == "Luis"


def test_a_first_party_client_given_reach_own_reaches_only_its_own(ana: Customer) -> None:
    app, token = channel_client(Channel.APP, reach="own")
    own = brought_by(app)
    api = token_api(token)

    assert api.get(detail(own)).status_code == 200
    assert api.get(detail(ana)).status_code == 404


# Resolve: refers to a customer outside reach, never shows them


def test_resolving_a_new_identity_brings_the_customer_and_shows_the_profile(
    marketplace: tuple[Any, APIClient],
) -> None:
    client, api = marketplace

    response = api.post(RESOLVE, {"identities": [{"kind": "email", "value": "luis@example.com"}], "name": "Luis"})

    assert response.status_code == 201, response.content
    body = response.json()
    luis = Customer.objects.get()
    assert (body["created"], body["customer_id"], body["customer"]["id"]) == (True, luis.pk, luis.pk)
    assert BroughtCustomer.objects.filter(client=client, customer=luis).exists()
    assert api.get(detail(luis)).status_code == 200


def test_resolving_another_clients_customer_answers_neither_its_id_nor_its_profile(
    marketplace: tuple[Any, APIClient], ana: Customer
) -> None:
    _, api = marketplace

    response = api.post(RESOLVE, {"identities": [{"kind": "email", "value": "ana@example.com"}]})

    assert response.status_code == 200, response.content
    assert response.json() == {"created": False, "customer_id": None, "customer": None}
    assert "Sevilla" not in response.content.decode()


def test_resolving_another_clients_customer_adds_nothing_to_her_profile(
    marketplace: tuple[Any, APIClient], ana: Customer
) -> None:
    _, api = marketplace
    identities = [{"kind": "email", "value": "ana@example.com"}, {"kind": "phone", "value": "+34 699 000 111"}]

    api.post(RESOLVE, {"identities": identities, "name": "Someone Else"})

    ana.refresh_from_db()
    assert list(ana.contact_points.values_list("kind", flat=True)) == ["email"]
    assert not ContactPoint.objects.filter(normalised_value="+34699000111").exists()


def test_resolving_another_clients_customer_does_not_widen_reach(
    marketplace: tuple[Any, APIClient], ana: Customer
) -> None:
    client, api = marketplace

    api.post(RESOLVE, {"identities": [{"kind": "email", "value": "ana@example.com"}]})

    assert not BroughtCustomer.objects.filter(client=client).exists()
    assert api.get(detail(ana)).status_code == 404


def test_web_shop_resolving_another_clients_customer_sees_the_profile(
    web: APIClient, marketplace: tuple[Any, APIClient]
) -> None:
    client, _ = marketplace
    luis = customer_with_email("luis@example.com")
    BroughtCustomer.objects.create(client=client, customer=luis)

    response = web.post(RESOLVE, {"identities": [{"kind": "email", "value": "luis@example.com"}]})

    assert response.status_code == 200
    assert (response.json()["customer_id"], response.json()["customer"]["id"]) == (luis.pk, luis.pk)


def test_staff_resolving_brings_the_customer_to_no_client(agent: APIClient) -> None:
    response = agent.post(RESOLVE, {"identities": [{"kind": "email", "value": "walkin@example.com"}]}, format="json")

    assert response.status_code == 201
    assert response.json()["customer"]["id"] == response.json()["customer_id"]
    assert not BroughtCustomer.objects.exists()


def allows_null(field: dict[str, Any]) -> bool:
    """An OpenAPI property accepts null: it says `nullable: true`, or one of its oneOf branches does
    (a nullable branch, or one of type null)."""
    branches = field.get("oneOf", [])
    return field.get("nullable") is True or any(
        branch.get("nullable") is True or branch.get("type") == "null" for branch in branches
    )


def test_resolve_documents_the_profile_as_nullable_in_the_openapi(client: Client) -> None:
    schema = client.get("/api/schema/", {"format": "json"}).json()

    output = schema["components"]["schemas"]["ResolveOutput"]
    assert set(output["required"]) >= {"created", "customer_id", "customer"}
    assert allows_null(output["properties"]["customer"]), output["properties"]["customer"]
    operation = schema["paths"]["/api/v1/customers/resolve/"]["post"]
    assert operation["x-required-scope"] == "customers:write"
    assert "`null`" in operation["description"]


# Events: what a client reports brings the new customers to it, never the known ones


def test_a_customer_first_reported_in_events_is_reached_by_the_reporting_client(
    marketplace: tuple[Any, APIClient],
) -> None:
    _, api = marketplace
    event = {
        "kind": "cart_updated",
        "occurred_at": timezone.now().isoformat(),
        "identity": {"kind": "email", "value": "luis@example.com"},
    }

    [result] = api.post(EVENTS, {"events": [event]}, format="json").json()["results"]

    assert api.get(detail(result["customer_id"])).status_code == 200


def test_reporting_events_of_another_clients_customer_does_not_widen_reach(
    marketplace: tuple[Any, APIClient], ana: Customer
) -> None:
    _, api = marketplace
    event = {
        "kind": "cart_updated",
        "occurred_at": timezone.now().isoformat(),
        "identity": {"kind": "email", "value": "ana@example.com"},
    }

    [result] = api.post(EVENTS, {"events": [event]}, format="json").json()["results"]

    assert result["customer_id"] == ana.pk
    assert api.get(detail(ana)).status_code == 404


def test_staff_may_not_report_events(staff_user: Any) -> None:
    response = staff_api(staff_user).post(EVENTS, {"events": []}, format="json")

    assert response.status_code == 403


# Segments: members within reach


@pytest.fixture
def sevilla() -> Segment:
    return Segment.objects.create(name="Sevilla", rules={"city": ["Sevilla"]})


def test_a_client_reaching_its_own_sees_only_its_members_of_a_segment(sevilla: Segment, ana: Customer) -> None:
    client, token = channel_client(Channel.MARKETPLACE, scopes=[Scope.SEGMENTS_READ])
    own = brought_by(client, city="Sevilla")
    brought_by(client, city="Madrid")

    response = token_api(token).get(f"{SEGMENTS}{sevilla.pk}/members/")

    assert response.status_code == 200
    assert [member["id"] for member in response.json()["results"]] == [own.pk]
    assert response.json()["count"] == 1


def test_the_web_shop_sees_every_member_of_a_segment(
    web: APIClient, sevilla: Segment, ana: Customer, marketplace: tuple[Any, APIClient]
) -> None:
    luis = brought_by(marketplace[0], city="Sevilla")

    response = web.get(f"{SEGMENTS}{sevilla.pk}/members/")

    assert [member["id"] for member in response.json()["results"]] == [ana.pk, luis.pk]


def test_a_marketplace_has_no_segments_by_default(marketplace: tuple[Any, APIClient], sevilla: Segment) -> None:
    assert_missing_scope(marketplace[1].get(SEGMENTS), Scope.SEGMENTS_READ)


def test_staff_without_segment_permission_cannot_read_segments(store_staff: APIClient, sevilla: Segment) -> None:
    assert store_staff.get(f"{SEGMENTS}{sevilla.pk}/").status_code == 403


def test_segment_members_within_reach_stay_one_page_query(sevilla: Segment, django_assert_max_num_queries: Any) -> None:
    client, token = channel_client(Channel.MARKETPLACE, scopes=[Scope.SEGMENTS_READ])
    for _ in range(30):
        brought_by(client, city="Sevilla")
    api = token_api(token)

    # The token, the segment, the count and the page: not one more per member.
    with django_assert_max_num_queries(4):
        response = api.get(f"{SEGMENTS}{sevilla.pk}/members/")

    assert response.json()["count"] == 30


def test_lookup_within_reach_adds_no_query(
    marketplace: tuple[Any, APIClient], django_assert_max_num_queries: Any
) -> None:
    client, api = marketplace
    luis = customer_with_email("luis@example.com")
    BroughtCustomer.objects.create(client=client, customer=luis)

    with django_assert_max_num_queries(3):
        response = api.get(LOOKUP, {"kind": "email", "value": "luis@example.com"})

    assert response.status_code == 200


# The selector


def test_customer_list_for_staff_holds_every_customer_erased_ones_too(ana: Customer) -> None:
    erased = CustomerFactory.create(erased_at=timezone.now())

    assert set(selectors.customer_list_for(client=None)) == {ana, erased}


def test_customer_list_for_a_client_reaching_all_leaves_out_the_erased(ana: Customer) -> None:
    CustomerFactory.create(erased_at=timezone.now())
    other = CustomerFactory.create()
    web_client, _ = channel_client(Channel.WEB)

    assert set(selectors.customer_list_for(client=web_client)) == {ana, other}


def test_customer_list_for_a_client_reaching_its_own_holds_what_it_brought(ana: Customer) -> None:
    client, _ = channel_client(Channel.MARKETPLACE)
    own = brought_by(client)
    brought_by(client, erased_at=timezone.now())

    assert list(selectors.customer_list_for(client=client)) == [own]
