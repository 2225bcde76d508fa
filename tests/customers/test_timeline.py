"""The timeline's vocabulary: one enum of kinds, each with a translatable label, the only ones the database takes.

Channels report what they see (views, searches, visits, carts); orders records its milestones and
the messages it sent. Whatever the kind, staff read it in words, in the admin and in the API.
"""

from typing import Any

import pytest
from django.db import IntegrityError
from django.test import Client
from django.utils.functional import Promise
from rest_framework.test import APIClient

from customers.models import REPORTED_EVENT_KINDS, CustomerEvent, EventKind
from customers.services import customer_event_record
from tests.factories import CustomerFactory, channel_client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", list(EventKind), ids=lambda kind: kind.value)
def test_every_kind_has_a_translatable_label(kind: EventKind) -> None:
    # A member without a label gets one made from its name: not in the catalogue, never translated.
    assert isinstance(kind.label, Promise)
    assert str(kind.label) != kind.value


def test_every_kind_is_recorded_and_shown_in_words_in_the_admin(admin_client: Client) -> None:
    customer = CustomerFactory.create()
    for kind in EventKind:
        customer_event_record(customer=customer, channel="web", kind=kind, payload={"order": "ORD-TIMELINE"})

    page = admin_client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()

    missing = [kind.value for kind in EventKind if str(kind.label) not in page]
    assert missing == []


def test_an_order_event_shows_its_order_number_and_store_in_the_admin(admin_client: Client) -> None:
    customer = CustomerFactory.create()
    customer_event_record(
        customer=customer,
        channel="store",
        kind=EventKind.ORDER_READY,
        location_code="MAD-01",
        payload={"order": "ORD-4711", "status": "ready"},
    )

    page = admin_client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()

    assert "Order ready for pickup" in page
    assert "ORD-4711 · MAD-01" in page


def test_the_staff_timeline_api_gives_each_kind_in_the_readers_language(staff_user: Any) -> None:
    customer = CustomerFactory.create()
    customer_event_record(customer=customer, channel="web", kind=EventKind.ORDER_PAID, payload={"order": "O-1"})
    api = APIClient()
    api.force_login(staff_user)

    [event] = api.get(f"/api/v1/customers/{customer.pk}/timeline/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]

    assert (event["kind"], event["kind_label"]) == ("order_paid", "Order paid")


def test_the_database_refuses_an_unknown_kind() -> None:
    customer = CustomerFactory.create()

    with pytest.raises(IntegrityError):
        CustomerEvent.objects.create(
            customer=customer, channel="web", kind="teleported", occurred_at="2026-01-01T00:00Z"
        )


@pytest.mark.parametrize("kind", sorted(set(EventKind) - set(REPORTED_EVENT_KINDS)))
def test_a_channel_cannot_report_what_only_orders_records(kind: EventKind) -> None:
    _, token = channel_client("web")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = {"kind": kind.value, "occurred_at": "2026-01-01T10:00:00Z", "identity": {"kind": "email", "value": "a@b.es"}}

    response = api.post("/api/v1/events/", {"events": [body]})

    assert response.json()["results"][0]["errors"]["kind"]
    assert not CustomerEvent.objects.exists()
