"""The event batch endpoint and the timeline selectors built on it: recently viewed, recent searches."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Variant
from config.channels import Channel
from customers.models import ContactPoint, Customer, CustomerEvent
from tests.factories import (
    ContactPointFactory,
    CustomerEventFactory,
    CustomerFactory,
    PromotionFactory,
    VariantFactory,
    channel_client,
)

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/events/"


def event(
    event_id: str,
    *,
    kind: str = "product_viewed",
    identity: tuple[str, str] = ("email", "ana@example.com"),
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_event_id": event_id,
        "kind": kind,
        "occurred_at": fields.pop("occurred_at", timezone.now().isoformat()),
        "identity": {"kind": identity[0], "value": identity[1]},
    }
    if kind == "product_viewed":
        body["sku"] = "SKU-1"
    return body | fields


def send(api: APIClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.post(EVENTS, {"events": events})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def token_api(channel: str, name: str | None = None) -> APIClient:
    _, token = channel_client(channel, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def customer_with_email(email: str, **fields: Any) -> Customer:
    customer = CustomerFactory.create(**fields)
    ContactPointFactory.create(customer=customer, kind="email", value=email)
    return customer


# The batch


def test_batch_records_events_on_each_identitys_customer(api: APIClient) -> None:
    ana = customer_with_email("ana@example.com")

    body = send(
        api,
        [
            event("e1", identity=("email", " ANA@example.com")),
            event("e2", kind="search", query="camiseta", identity=("phone", "612 34 56 78")),
        ],
    )

    assert (body["created"], body["duplicates"], body["errors"]) == (2, 0, 0)
    first, second = body["results"]
    assert (first["index"], first["status"], first["customer_id"]) == (0, "created", ana.pk)
    new = Customer.objects.exclude(pk=ana.pk).get()
    assert (second["index"], second["status"], second["customer_id"]) == (1, "created", new.pk)
    assert new.contact_points.get().normalised_value == "+34612345678"
    assert CustomerEvent.objects.get(client_event_id="e1").customer == ana
    assert CustomerEvent.objects.get(client_event_id="e2").query == "camiseta"


def test_batch_new_identity_creates_customer_with_name_and_channel() -> None:
    app_api = token_api(Channel.APP)

    body = send(app_api, [event("e1", identity=("app_device", "dev-1"), name="Luis")])

    customer = Customer.objects.get(pk=body["results"][0]["customer_id"])
    assert (customer.name, customer.first_seen_channel) == ("Luis", Channel.APP)
    assert customer.contact_points.get().channel == Channel.APP


def test_batch_events_of_one_new_identity_share_one_customer(api: APIClient) -> None:
    body = send(api, [event("e1"), event("e2", identity=("email", "Ana@Example.com"))])

    assert Customer.objects.count() == 1
    assert {result["customer_id"] for result in body["results"]} == {Customer.objects.get().pk}


def test_resending_a_batch_reports_duplicates_and_writes_nothing(api: APIClient) -> None:
    batch = [event("e1"), event("e2", identity=("phone", "+34612345678")), event("e3", kind="cart_updated")]
    first = send(api, batch)
    events, customers = CustomerEvent.objects.count(), Customer.objects.count()

    again = send(api, batch)

    assert (again["created"], again["duplicates"], again["errors"]) == (0, 3, 0)
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    assert [r["customer_id"] for r in again["results"]] == [r["customer_id"] for r in first["results"]]
    assert (CustomerEvent.objects.count(), Customer.objects.count()) == (events, customers)


def test_repeated_client_event_id_within_a_batch_is_recorded_once(api: APIClient) -> None:
    body = send(api, [event("e1"), event("e1"), event("e2")])

    assert [r["status"] for r in body["results"]] == ["created", "duplicate", "created"]
    assert body["results"][1]["customer_id"] == body["results"][0]["customer_id"]
    assert CustomerEvent.objects.filter(client_event_id="e1").count() == 1


def test_repeat_within_a_batch_reports_the_customer_of_the_recorded_event(api: APIClient) -> None:
    ana = customer_with_email("ana@example.com")

    body = send(api, [event("e1"), event("e1", identity=("email", "other@example.com"))])

    assert [r["status"] for r in body["results"]] == ["created", "duplicate"]
    # As when the batch is resent: the duplicate names the customer its id was recorded for.
    assert [r["customer_id"] for r in body["results"]] == [ana.pk, ana.pk]
    assert send(api, [event("e1", identity=("email", "other@example.com"))])["results"][0]["customer_id"] == ana.pk


def test_events_without_client_event_id_are_all_recorded(api: APIClient) -> None:
    send(api, [event(""), event("")])

    assert CustomerEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (event("bad", kind="teleported"), "kind"),
        (event("bad", identity=("phone", "123")), "identity"),
        (event("bad", identity=("email", "not-an-email")), "identity"),
        (event("bad", identity=("fax", "123")), "identity"),
        (event("bad", sku=""), "sku"),
        (event("bad", kind="search"), "query"),
        (event("bad", kind="store_visit"), "location_code"),
        (event("bad", occurred_at="yesterday"), "occurred_at"),
    ],
)
def test_a_bad_event_is_reported_and_the_good_ones_are_kept(api: APIClient, bad: dict[str, Any], field: str) -> None:
    body = send(api, [event("good-1"), bad, event("good-2", identity=("instagram", "@ana"))])

    assert (body["created"], body["errors"]) == (2, 1)
    result = body["results"][1]
    assert (result["index"], result["status"], result["customer_id"]) == (1, "error", None)
    assert result["errors"][field]
    assert set(CustomerEvent.objects.values_list("client_event_id", flat=True)) == {"good-1", "good-2"}


def test_an_event_with_a_bad_identity_creates_no_customer(api: APIClient) -> None:
    send(api, [event("bad", identity=("phone", "123"))])

    assert not Customer.objects.exists()
    assert not CustomerEvent.objects.exists()


def test_more_than_1000_events_is_400_and_writes_nothing(api: APIClient) -> None:
    response = api.post(EVENTS, {"events": [event(f"e{i}") for i in range(1001)]})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"]["events"]
    assert not CustomerEvent.objects.exists()
    assert not Customer.objects.exists()


def test_empty_batch_is_400(api: APIClient) -> None:
    response = api.post(EVENTS, {"events": []})

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["events"]


def test_events_take_the_clients_channel_not_the_bodys() -> None:
    store_client, token = channel_client(Channel.STORE)
    store_api = APIClient()
    store_api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    send(store_api, [event("e1", kind="store_visit", location_code="MAD-01", channel="web")])

    stored = CustomerEvent.objects.get()
    assert (stored.channel, stored.location_code, stored.client_id) == (Channel.STORE, "MAD-01", store_client.pk)


def test_the_same_client_event_id_from_two_clients_is_two_events(api: APIClient) -> None:
    other = token_api(Channel.APP)

    first = send(api, [event("e1")])
    second = send(other, [event("e1")])

    assert first["results"][0]["status"] == second["results"][0]["status"] == "created"
    assert sorted(CustomerEvent.objects.values_list("channel", flat=True)) == ["app", "web"]
    assert Customer.objects.count() == 1


def test_staff_session_cannot_post_events(client: Any, staff_user: Any) -> None:
    client.force_login(staff_user)

    response = client.post(EVENTS, {"events": [event("e1")]}, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not CustomerEvent.objects.exists()


def test_events_endpoint_is_401_without_token(anonymous_api: APIClient) -> None:
    assert anonymous_api.post(EVENTS, {"events": [event("e1")]}).status_code == 401


# Query counts


def known_customers(count: int) -> list[str]:
    """E-mails of `count` existing customers, created in bulk."""
    customers = Customer.objects.bulk_create(
        [Customer(name=f"Known {i}", first_seen_channel=Channel.WEB) for i in range(count)]
    )
    emails = [f"known{i}@example.com" for i in range(count)]
    ContactPoint.objects.bulk_create(
        ContactPoint(customer=customer, kind="email", value=email, normalised_value=email, channel=Channel.WEB)
        for customer, email in zip(customers, emails, strict=True)
    )
    return emails


def mixed_batch(prefix: str, size: int, known: list[str]) -> list[dict[str, Any]]:
    """Half the events from known customers, half from new identities of several kinds."""
    kinds = ("email", "instagram", "app_device")
    batch = []
    for i in range(size):
        if i % 2:
            identity = ("email", known[i % len(known)])
        else:
            kind = kinds[i % 3]
            identity = (kind, f"{prefix}{i}@example.com" if kind == "email" else f"{prefix}-{i}")
        batch.append(event(f"{prefix}-{i}", identity=identity, sku=f"SKU-{i % 7}"))
    return batch


def batch_queries(api: APIClient, batch: list[dict[str, Any]]) -> int:
    with CaptureQueriesContext(connection) as queries:
        body = send(api, batch)
    assert body["created"] == len(batch)
    return len(queries)


def test_batch_queries_do_not_grow_with_events(api: APIClient, django_assert_max_num_queries: Any) -> None:
    known = known_customers(500)
    small = batch_queries(api, mixed_batch("small", 10, known))

    large = batch_queries(api, mixed_batch("large", 1000, known))

    assert small <= large <= small + 2
    assert CustomerEvent.objects.count() == 1010
    # One of them records, in bulk, that this client brought the new customers (its reach).
    with django_assert_max_num_queries(10):
        send(api, mixed_batch("bound", 1000, known))


def test_resent_batch_queries_do_not_grow_with_events(api: APIClient, django_assert_max_num_queries: Any) -> None:
    known = known_customers(100)
    batch = mixed_batch("resend", 1000, known)
    send(api, batch)

    with django_assert_max_num_queries(4):
        body = send(api, batch)

    assert body["duplicates"] == 1000


# Recently viewed and recent searches


def viewed(customer: Customer, sku: str, minutes_ago: int, channel: str = Channel.WEB) -> None:
    CustomerEventFactory.create(
        customer=customer,
        channel=channel,
        kind="product_viewed",
        sku=sku,
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def searched(customer: Customer, query: str, minutes_ago: int, channel: str = Channel.WEB) -> None:
    CustomerEventFactory.create(
        customer=customer,
        channel=channel,
        kind="search",
        sku="",
        query=query,
        occurred_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_recently_viewed_lists_distinct_skus_newest_first_across_channels(api: APIClient) -> None:
    customer = CustomerFactory.create()
    tee, jeans, cap = (VariantFactory.create(sku=sku) for sku in ("TEE", "JEANS", "CAP"))
    viewed(customer, "TEE", 50, Channel.WEB)
    viewed(customer, "JEANS", 40, Channel.APP)
    viewed(customer, "TEE", 10, Channel.APP)  # seen again, on the app: now the newest
    viewed(customer, "CAP", 30, Channel.STORE)
    viewed(CustomerFactory.create(), "OTHER", 1)  # someone else's
    searched(customer, "gorra", 0)  # not a view

    response = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/")

    assert response.status_code == 200, response.content
    items = response.json()
    assert [item["sku"] for item in items] == ["TEE", "CAP", "JEANS"]
    assert [item["variant"]["id"] for item in items] == [tee.pk, cap.pk, jeans.pk]


def test_recently_viewed_shows_the_effective_price_under_a_running_promotion(api: APIClient) -> None:
    customer = CustomerFactory.create()
    promoted = VariantFactory.create(sku="TEE", price=Decimal("20.00"))
    VariantFactory.create(sku="JEANS", price=Decimal("40.00"))
    PromotionFactory.create(value=Decimal("25"), variants=[promoted])
    PromotionFactory.create(  # over: no effect
        value=Decimal("50"),
        variants=[Variant.objects.get(sku="JEANS")],
        starts_at=timezone.now() - timedelta(days=5),
        ends_at=timezone.now() - timedelta(days=1),
    )
    viewed(customer, "TEE", 2)
    viewed(customer, "JEANS", 1)

    items = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/").json()

    prices = {item["sku"]: (item["variant"]["price"], item["variant"]["effective_price"]) for item in items}
    assert prices == {"TEE": ("20.00", "15.00"), "JEANS": ("40.00", "40.00")}


def test_recently_viewed_sku_no_longer_in_the_catalog_has_no_variant(api: APIClient) -> None:
    customer = CustomerFactory.create()
    viewed(customer, "GONE", 1)

    [item] = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/").json()

    assert (item["sku"], item["variant"]) == ("GONE", None)


def test_recently_viewed_limit(api: APIClient) -> None:
    customer = CustomerFactory.create()
    for minutes in range(5):
        viewed(customer, f"SKU-{minutes}", minutes)

    items = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/?limit=2").json()

    assert [item["sku"] for item in items] == ["SKU-0", "SKU-1"]


def test_recently_viewed_bad_limit_is_400(api: APIClient) -> None:
    customer = CustomerFactory.create()

    response = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/?limit=many")

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["limit"]


def test_recent_searches_lists_distinct_queries_newest_first_across_channels(api: APIClient) -> None:
    customer = CustomerFactory.create()
    searched(customer, "camiseta", 30, Channel.WEB)
    searched(customer, "vaqueros", 20, Channel.APP)
    searched(customer, "camiseta", 10, Channel.APP)
    searched(customer, "gorra", 40, Channel.WEB)
    viewed(customer, "TEE", 0)

    response = api.get(f"/api/v1/customers/{customer.pk}/recent-searches/")

    assert response.status_code == 200
    assert [item["query"] for item in response.json()] == ["camiseta", "vaqueros", "gorra"]


def test_recent_searches_limit(api: APIClient) -> None:
    customer = CustomerFactory.create()
    for minutes in range(4):
        searched(customer, f"query {minutes}", minutes)

    items = api.get(f"/api/v1/customers/{customer.pk}/recent-searches/?limit=3").json()

    assert [item["query"] for item in items] == ["query 0", "query 1", "query 2"]


def test_events_posted_by_web_and_app_show_in_recently_viewed(api: APIClient) -> None:
    app_api = token_api(Channel.APP)
    VariantFactory.create(sku="TEE")
    VariantFactory.create(sku="CAP")
    earlier = (timezone.now() - timedelta(minutes=5)).isoformat()
    send(api, [event("w1", sku="TEE", occurred_at=earlier)])
    [result] = send(app_api, [event("a1", sku="CAP")])["results"]

    items = api.get(f"/api/v1/customers/{result['customer_id']}/recently-viewed/").json()

    assert [item["sku"] for item in items] == ["CAP", "TEE"]


def recently_viewed_queries(api: APIClient, customer: Customer) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/?limit=100")
    assert response.status_code == 200
    return len(queries)


def test_recently_viewed_queries_do_not_grow_with_products(api: APIClient, django_assert_max_num_queries: Any) -> None:
    customer = CustomerFactory.create()
    variants = VariantFactory.create_batch(30)
    PromotionFactory.create(variants=variants[:2], products=[variants[2].product])
    for minutes, variant in enumerate(variants[:3]):
        viewed(customer, variant.sku, minutes)
    few = recently_viewed_queries(api, customer)
    for minutes, variant in enumerate(variants[3:], start=3):
        viewed(customer, variant.sku, minutes, Channel.APP)

    many = recently_viewed_queries(api, customer)

    assert many == few
    with django_assert_max_num_queries(9):
        response = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/?limit=100")
    assert len(response.json()) == 30
