"""Personalisation consent governs the browsing lists (recently viewed, recent searches), not the timeline.

The rule: the newest personalisation row per channel holds; while any channel's is a withdrawal
the lists are empty on every channel and for staff (they mix every channel's events). A newer
grant on that channel shows them again; a customer never asked keeps them. Events are still
recorded and the timeline still lists them.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from config.channels import Channel
from customers import selectors, services
from customers.models import Customer, CustomerEvent
from tests.factories import ConsentFactory, CustomerEventFactory, CustomerFactory, VariantFactory

pytestmark = pytest.mark.django_db

PERSONALISATION = "personalisation"


def ago(minutes: int) -> Any:
    return timezone.now() - timedelta(minutes=minutes)


def browsed(customer: Customer) -> None:
    """A product viewed and a search, on the web."""
    CustomerEventFactory.create(customer=customer, kind="product_viewed", sku="TEE", occurred_at=ago(5))
    CustomerEventFactory.create(customer=customer, kind="search", sku="", query="camiseta", occurred_at=ago(4))


def consent(customer: Customer, channel: str, granted: bool, minutes_ago: int, purpose: str = PERSONALISATION) -> None:
    ConsentFactory.create(
        customer=customer, channel=channel, purpose=purpose, granted=granted, recorded_at=ago(minutes_ago)
    )


def lists(api: APIClient, customer: Customer) -> tuple[list[str], list[str]]:
    viewed = api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/")
    searches = api.get(f"/api/v1/customers/{customer.pk}/recent-searches/")
    assert (viewed.status_code, searches.status_code) == (200, 200), (viewed.content, searches.content)
    return [item["sku"] for item in viewed.json()], [item["query"] for item in searches.json()]


def test_withdrawn_personalisation_empties_recently_viewed_and_recent_searches_in_the_api(api: APIClient) -> None:
    customer = CustomerFactory.create()
    VariantFactory.create(sku="TEE")
    browsed(customer)
    consent(customer, Channel.WEB, True, 60)
    consent(customer, Channel.WEB, False, 30)

    assert lists(api, customer) == ([], [])


def test_withdrawn_personalisation_empties_the_selectors() -> None:
    customer = CustomerFactory.create()
    browsed(customer)
    consent(customer, Channel.APP, False, 30)

    assert selectors.customer_recently_viewed(customer=customer) == []
    assert selectors.customer_recent_searches(customer=customer) == []


def test_a_withdrawal_on_another_channel_empties_the_lists_for_the_asking_channel(api: APIClient) -> None:
    # The lists mix every channel's events: a withdrawal in the app hides them from the web shop too.
    customer = CustomerFactory.create()
    browsed(customer)
    consent(customer, Channel.WEB, True, 60)
    consent(customer, Channel.APP, False, 30)

    assert lists(api, customer) == ([], [])


def test_personalisation_granted_again_shows_the_lists_again(api: APIClient) -> None:
    customer = CustomerFactory.create()
    browsed(customer)
    services.consent_record(
        customer=customer, channel=Channel.WEB, purpose=PERSONALISATION, granted=False, source="cookie banner"
    )
    services.consent_record(
        customer=customer, channel=Channel.WEB, purpose=PERSONALISATION, granted=True, source="cookie banner"
    )

    assert lists(api, customer) == (["TEE"], ["camiseta"])


def test_a_customer_never_asked_for_personalisation_keeps_the_lists(api: APIClient) -> None:
    customer = CustomerFactory.create()
    browsed(customer)

    assert lists(api, customer) == (["TEE"], ["camiseta"])


def test_a_withdrawn_marketing_consent_leaves_the_lists(api: APIClient) -> None:
    customer = CustomerFactory.create()
    browsed(customer)
    consent(customer, Channel.WEB, False, 30, purpose="marketing")

    assert lists(api, customer) == (["TEE"], ["camiseta"])


def test_another_customers_withdrawal_leaves_the_lists(api: APIClient) -> None:
    customer = CustomerFactory.create()
    browsed(customer)
    consent(CustomerFactory.create(), Channel.WEB, False, 30)

    assert lists(api, customer) == (["TEE"], ["camiseta"])


def test_events_are_still_recorded_and_on_the_timeline_after_a_withdrawal(api: APIClient, staff_user: Any) -> None:
    customer = CustomerFactory.create()
    consent(customer, Channel.WEB, False, 30)
    browsed(customer)  # after the withdrawal
    staff = APIClient()
    staff.force_login(staff_user)

    timeline = staff.get(f"/api/v1/customers/{customer.pk}/timeline/").json()["results"]

    assert CustomerEvent.objects.filter(customer=customer).count() == 2
    assert sorted(event["kind"] for event in timeline) == ["product_viewed", "search"]
    assert lists(api, customer) == ([], [])


def test_staff_see_empty_lists_after_a_withdrawal(staff_user: Any) -> None:
    customer = CustomerFactory.create()
    browsed(customer)
    consent(customer, Channel.STORE, False, 30)
    staff = APIClient()
    staff.force_login(staff_user)

    assert lists(staff, customer) == ([], [])


def test_the_consent_check_adds_no_query_to_the_lists(api: APIClient, django_assert_max_num_queries: Any) -> None:
    customer = CustomerFactory.create()
    VariantFactory.create(sku="TEE")
    browsed(customer)
    for minutes in range(10):
        consent(customer, Channel.WEB, minutes % 2 == 0, minutes + 10)
    consent(customer, Channel.APP, True, 5)

    assert len(selectors.customer_recently_viewed(customer=customer)) == 1
    with django_assert_max_num_queries(2):
        assert len(selectors.customer_recently_viewed(customer=customer)) == 1
    with django_assert_max_num_queries(1):
        assert len(selectors.customer_recent_searches(customer=customer)) == 1
    with django_assert_max_num_queries(9):
        assert len(api.get(f"/api/v1/customers/{customer.pk}/recently-viewed/").json()) == 1
