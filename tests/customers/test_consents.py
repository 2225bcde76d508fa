"""Consents: history kept, the newest row per channel and purpose holds, and who a message may reach."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from config.channels import Channel
from customers import selectors, services
from customers.exceptions import CustomerErased
from customers.models import Consent, Customer
from tests.factories import ConsentFactory, CustomerFactory, channel_client

pytestmark = pytest.mark.django_db


def ago(days: int) -> Any:
    return timezone.now() - timedelta(days=days)


def reachable(channel: str = Channel.EMAIL, purpose: str = "marketing") -> set[Customer]:
    return set(selectors.customer_list_reachable(channel=channel, purpose=purpose))


# Recording


def test_consent_record_keeps_history() -> None:
    customer = CustomerFactory.create()

    services.consent_record(
        customer=customer, channel="email", purpose="marketing", granted=True, source="web form", recorded_at=ago(3)
    )
    services.consent_record(
        customer=customer, channel="email", purpose="marketing", granted=False, source="unsubscribe"
    )

    history = list(Consent.objects.filter(customer=customer).values_list("granted", "source"))
    assert history == [(False, "unsubscribe"), (True, "web form")]


def test_consent_record_stores_source_time_and_recording_channel() -> None:
    customer = CustomerFactory.create()

    consent = services.consent_record(
        customer=customer,
        channel="whatsapp",
        purpose="personalisation",
        granted=True,
        source="  store till  ",
        recorded_by_channel="store",
    )

    consent.refresh_from_db()
    assert (consent.channel, consent.purpose, consent.granted) == ("whatsapp", "personalisation", True)
    assert (consent.source, consent.recorded_by_channel) == ("store till", "store")
    assert timezone.now() - consent.recorded_at < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"purpose": "spam"}, "purpose"),
        ({"source": "  "}, "source"),
    ],
)
def test_consent_record_refuses_bad_input(fields: dict[str, str], bad: str) -> None:
    customer = CustomerFactory.create()
    values: dict[str, Any] = {"channel": "email", "purpose": "marketing", "source": "web form"} | fields

    with pytest.raises(ValidationError) as caught:
        services.consent_record(customer=customer, granted=True, **values)

    assert set(caught.value.message_dict) == {bad}
    assert not Consent.objects.exists()


def test_consent_record_refuses_an_erased_customer() -> None:
    customer = CustomerFactory.create(erased_at=timezone.now())

    with pytest.raises(CustomerErased):
        services.consent_record(customer=customer, channel="email", purpose="marketing", granted=True, source="x")

    assert not Consent.objects.exists()


# The consent in force


def test_consent_current_is_the_newest_per_channel_and_purpose() -> None:
    customer = CustomerFactory.create()
    ConsentFactory.create(customer=customer, channel="email", purpose="marketing", granted=True, recorded_at=ago(9))
    withdrawn = ConsentFactory.create(
        customer=customer, channel="email", purpose="marketing", granted=False, recorded_at=ago(2)
    )
    sms = ConsentFactory.create(customer=customer, channel="whatsapp", purpose="marketing", recorded_at=ago(5))
    personal = ConsentFactory.create(customer=customer, channel="email", purpose="personalisation", recorded_at=ago(7))
    ConsentFactory.create(channel="email", purpose="marketing", granted=True)  # someone else's

    current = selectors.consent_current(customer=customer)

    assert current == [withdrawn, personal, sms]


def test_consent_current_newest_wins_even_when_recorded_out_of_order() -> None:
    customer = CustomerFactory.create()
    ConsentFactory.create(customer=customer, granted=False, recorded_at=ago(1))
    ConsentFactory.create(customer=customer, granted=True, recorded_at=ago(5))  # older, inserted later

    [current] = selectors.consent_current(customer=customer)

    assert current.granted is False


def test_consent_current_of_a_customer_without_consents_is_empty() -> None:
    assert selectors.consent_current(customer=CustomerFactory.create()) == []


# Who a message may reach


def test_reachable_includes_customers_whose_newest_consent_is_granted() -> None:
    granted = ConsentFactory.create(channel="email", purpose="marketing", granted=True).customer
    CustomerFactory.create()  # never asked

    assert reachable() == {granted}


def test_reachable_excludes_a_consent_withdrawn_later() -> None:
    customer = CustomerFactory.create()
    ConsentFactory.create(customer=customer, granted=True, recorded_at=ago(10))
    ConsentFactory.create(customer=customer, granted=False, recorded_at=ago(1))

    assert reachable() == set()


def test_reachable_includes_a_consent_granted_again_after_withdrawing() -> None:
    customer = CustomerFactory.create()
    ConsentFactory.create(customer=customer, granted=False, recorded_at=ago(10))
    ConsentFactory.create(customer=customer, granted=True, recorded_at=ago(1))

    assert reachable() == {customer}


def test_reachable_excludes_consent_granted_on_another_channel() -> None:
    ConsentFactory.create(channel="whatsapp", purpose="marketing", granted=True)

    assert reachable(channel="email") == set()


def test_reachable_excludes_consent_for_another_purpose() -> None:
    ConsentFactory.create(channel="email", purpose="personalisation", granted=True)

    assert reachable(purpose="marketing") == set()


def test_reachable_is_not_affected_by_another_channels_withdrawal() -> None:
    customer = CustomerFactory.create()
    ConsentFactory.create(customer=customer, channel="email", granted=True, recorded_at=ago(5))
    ConsentFactory.create(customer=customer, channel="whatsapp", granted=False, recorded_at=ago(1))

    assert reachable(channel="email") == {customer}


def test_reachable_excludes_erased_customers() -> None:
    customer = CustomerFactory.create(erased_at=timezone.now())
    ConsentFactory.create(customer=customer, granted=True)

    assert reachable() == set()


def test_reachable_is_one_query(django_assert_num_queries: Any) -> None:
    for _ in range(5):
        customer = CustomerFactory.create()
        ConsentFactory.create(customer=customer, granted=False, recorded_at=ago(3))
        ConsentFactory.create(customer=customer, granted=True, recorded_at=ago(1))

    with django_assert_num_queries(1):
        assert len(reachable()) == 5


# API


def test_api_records_a_consent_through_the_clients_channel(api: APIClient) -> None:
    customer = CustomerFactory.create()

    response = api.post(
        f"/api/v1/customers/{customer.pk}/consents/",
        {"channel": "email", "purpose": "marketing", "granted": True, "source": "checkout tick box"},
    )

    assert response.status_code == 201, response.content
    consent = Consent.objects.get()
    assert (consent.customer, consent.channel, consent.recorded_by_channel) == (customer, "email", Channel.WEB)
    assert response.json() == [
        {
            "channel": "email",
            "purpose": "marketing",
            "granted": True,
            "source": "checkout tick box",
            "recorded_at": response.json()[0]["recorded_at"],
            "recorded_by_channel": "web",
        }
    ]


def test_api_recorded_by_channel_comes_from_the_credential_not_the_body() -> None:
    customer = CustomerFactory.create()
    _, token = channel_client(Channel.CALL_CENTER)
    call_center = APIClient()
    call_center.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = call_center.post(
        f"/api/v1/customers/{customer.pk}/consents/",
        {
            "channel": "whatsapp",
            "purpose": "marketing",
            "granted": False,
            "source": "phone call",
            "recorded_by_channel": "web",
        },
    )

    assert response.status_code == 201, response.content
    assert Consent.objects.get().recorded_by_channel == Channel.CALL_CENTER


def test_api_lists_the_consents_in_force(api: APIClient) -> None:
    customer = CustomerFactory.create()
    ConsentFactory.create(customer=customer, granted=True, recorded_at=ago(5))
    ConsentFactory.create(customer=customer, granted=False, recorded_at=ago(1), source="unsubscribe link")

    response = api.get(f"/api/v1/customers/{customer.pk}/consents/")

    assert response.status_code == 200
    [current] = response.json()
    assert (current["granted"], current["source"]) == (False, "unsubscribe link")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "spam"}, "purpose"),
        ({"channel": "pigeon"}, "channel"),
        ({"granted": "perhaps"}, "granted"),
        ({"source": ""}, "source"),
    ],
)
def test_api_bad_consent_is_400_on_the_field_and_writes_nothing(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    customer = CustomerFactory.create()
    data = {"channel": "email", "purpose": "marketing", "granted": True, "source": "web"} | body

    response = api.post(f"/api/v1/customers/{customer.pk}/consents/", data)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"][field]
    assert not Consent.objects.exists()


def test_api_consent_for_an_erased_customer_is_404(api: APIClient) -> None:
    customer = CustomerFactory.create(erased_at=timezone.now())

    response = api.post(
        f"/api/v1/customers/{customer.pk}/consents/",
        {"channel": "email", "purpose": "marketing", "granted": True, "source": "web"},
    )

    assert response.status_code == 404
    assert not Consent.objects.exists()
