"""customer_resolve: every channel finds the same profile; conflicts are recorded, never merged."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from config.channels import Channel
from customers.models import ContactPoint, Customer, DuplicateCandidate
from customers.services import customer_resolve
from tests.concurrency import raised, run_at_once
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db

THREADS = 8


def email(value: str) -> dict[str, str]:
    return {"kind": "email", "value": value}


def phone(value: str) -> dict[str, str]:
    return {"kind": "phone", "value": value}


def owned_identities(customer: Customer) -> set[tuple[str, str]]:
    return set(ContactPoint.objects.filter(customer=customer).values_list("kind", "normalised_value"))


# One identity, one customer


def test_new_identity_creates_customer_first_seen_on_the_channel() -> None:
    resolution = customer_resolve(identities=[email("ana@example.com")], channel=Channel.STORE)

    assert resolution.created is True
    assert resolution.customer.first_seen_channel == Channel.STORE
    assert owned_identities(resolution.customer) == {("email", "ana@example.com")}


def test_same_phone_typed_differently_resolves_to_the_same_customer() -> None:
    first = customer_resolve(identities=[phone("612 34 56 78")], channel=Channel.STORE)

    second = customer_resolve(identities=[phone("0034 612-345-678")], channel=Channel.WEB)

    assert second.created is False
    assert second.customer.pk == first.customer.pk
    assert Customer.objects.count() == 1
    assert ContactPoint.objects.count() == 1


def test_new_identities_are_attached_to_the_found_customer() -> None:
    customer = CustomerFactory.create()
    ContactPointFactory.create(customer=customer, value="ana@example.com")

    resolution = customer_resolve(
        identities=[email("ANA@example.com"), phone("+34 612 34 56 78"), {"kind": "instagram", "value": "@Ana"}],
        channel=Channel.SOCIAL,
    )

    assert resolution.customer.pk == customer.pk
    assert owned_identities(customer) == {
        ("email", "ana@example.com"),
        ("phone", "+34612345678"),
        ("instagram", "ana"),
    }
    assert ContactPoint.objects.get(kind="phone").channel == Channel.SOCIAL


# Identities of two customers: best match, a duplicate candidate, no merge


def test_identities_of_two_customers_resolve_to_the_one_owning_most() -> None:
    few = CustomerFactory.create()
    ContactPointFactory.create(customer=few, value="ana@example.com")
    most = CustomerFactory.create()
    ContactPointFactory.create(customer=most, kind="phone", value="+34612345678")
    ContactPointFactory.create(customer=most, kind="whatsapp", value="+34612345678")

    resolution = customer_resolve(
        identities=[email("ana@example.com"), phone("612345678"), {"kind": "whatsapp", "value": "612345678"}],
        channel=Channel.WEB,
    )

    assert resolution.customer.pk == most.pk
    assert [c.pk for c in resolution.possible_duplicates] == [few.pk]


def test_identities_of_two_customers_owning_as_many_resolve_to_the_older() -> None:
    older = CustomerFactory.create()
    ContactPointFactory.create(customer=older, value="ana@example.com")
    newer = CustomerFactory.create()
    ContactPointFactory.create(customer=newer, kind="phone", value="+34612345678")

    resolution = customer_resolve(identities=[phone("612345678"), email("ana@example.com")], channel=Channel.WEB)

    assert resolution.customer.pk == older.pk


def test_identities_of_two_customers_record_a_duplicate_candidate_lower_id_first() -> None:
    few = CustomerFactory.create()
    ContactPointFactory.create(customer=few, value="ana@example.com")
    most = CustomerFactory.create()
    ContactPointFactory.create(customer=most, kind="phone", value="+34612345678")
    ContactPointFactory.create(customer=most, kind="whatsapp", value="+34612345678")

    customer_resolve(
        identities=[email("ana@example.com"), phone("612345678"), {"kind": "whatsapp", "value": "612345678"}],
        channel=Channel.WEB,
    )

    assert list(DuplicateCandidate.objects.values_list("customer_id", "other_id", "status")) == [
        (few.pk, most.pk, "open")
    ]


def test_identities_of_two_customers_are_not_merged() -> None:
    first = CustomerFactory.create()
    ContactPointFactory.create(customer=first, value="ana@example.com")
    second = CustomerFactory.create()
    ContactPointFactory.create(customer=second, kind="phone", value="+34612345678")

    customer_resolve(identities=[email("ana@example.com"), phone("612345678")], channel=Channel.WEB)

    assert set(Customer.objects.values_list("pk", flat=True)) == {first.pk, second.pk}
    assert owned_identities(first) == {("email", "ana@example.com")}
    assert owned_identities(second) == {("phone", "+34612345678")}


def test_resolving_the_same_conflict_twice_records_one_candidate() -> None:
    first = CustomerFactory.create()
    ContactPointFactory.create(customer=first, value="ana@example.com")
    second = CustomerFactory.create()
    ContactPointFactory.create(customer=second, kind="phone", value="+34612345678")
    identities = [email("ana@example.com"), phone("612345678")]

    customer_resolve(identities=identities, channel=Channel.WEB)
    customer_resolve(identities=identities, channel=Channel.STORE)

    assert DuplicateCandidate.objects.count() == 1


# Name


def test_name_fills_a_blank_name() -> None:
    customer = CustomerFactory.create(name="")
    ContactPointFactory.create(customer=customer, value="ana@example.com")

    customer_resolve(identities=[email("ana@example.com")], name="  Ana García ", channel=Channel.WEB)

    customer.refresh_from_db()
    assert customer.name == "Ana García"


def test_name_does_not_overwrite_an_existing_name() -> None:
    customer = CustomerFactory.create(name="Ana García")
    ContactPointFactory.create(customer=customer, value="ana@example.com")

    customer_resolve(identities=[email("ana@example.com")], name="Anita", channel=Channel.WEB)

    customer.refresh_from_db()
    assert customer.name == "Ana García"


def test_new_customer_takes_the_name_given() -> None:
    resolution = customer_resolve(identities=[email("ana@example.com")], name="Ana García", channel=Channel.WEB)

    assert Customer.objects.get(pk=resolution.customer.pk).name == "Ana García"


# Bad input


def test_invalid_identity_is_reported_by_position() -> None:
    with pytest.raises(ValidationError) as exc_info:
        customer_resolve(identities=[phone("12"), email("ana@example.com")], channel=Channel.WEB)

    assert list(exc_info.value.message_dict) == ["identities[0]"]


def test_invalid_identity_writes_nothing() -> None:
    existing = CustomerFactory.create(name="")
    ContactPointFactory.create(customer=existing, value="ana@example.com")

    with pytest.raises(ValidationError):
        customer_resolve(
            identities=[email("ana@example.com"), phone("612345678"), {"kind": "instagram", "value": "ana garcia!"}],
            name="Ana",
            channel=Channel.WEB,
        )

    assert Customer.objects.count() == 1
    assert ContactPoint.objects.count() == 1
    existing.refresh_from_db()
    assert existing.name == ""


def test_no_identities_are_refused() -> None:
    with pytest.raises(ValidationError) as exc_info:
        customer_resolve(identities=[], channel=Channel.WEB)

    assert "identities" in exc_info.value.message_dict
    assert Customer.objects.count() == 0


# Concurrency: real threads on PostgreSQL


@pytest.fixture
def slow_identity_inserts(transactional_db: Any) -> Iterator[None]:
    """Each identity row takes 0.1 s to insert: widens the window between the rows of one INSERT.

    In production the window is load, lock waits and index maintenance; here a trigger makes the
    interleaving certain, so the test does not depend on luck.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_slow_insert() RETURNS trigger AS $$"
            " BEGIN PERFORM pg_sleep(0.1); RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER test_slow_insert BEFORE INSERT ON customers_contactpoint"
            " FOR EACH ROW EXECUTE FUNCTION test_slow_insert()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_slow_insert ON customers_contactpoint")
            cursor.execute("DROP FUNCTION IF EXISTS test_slow_insert()")


@pytest.mark.django_db(transaction=True)
def test_concurrent_resolves_of_one_new_email_create_one_customer() -> None:
    calls = [
        lambda: customer_resolve(identities=[email("Nueva@Example.com")], channel=Channel.WEB).customer.pk
    ] * THREADS

    customer_ids = run_at_once(calls)
    errors = raised(customer_ids)

    assert errors == []
    assert Customer.objects.count() == 1
    assert ContactPoint.objects.count() == 1
    assert set(customer_ids) == {Customer.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_resolves_sharing_a_new_email_end_on_one_customer_owning_both_identities() -> None:
    calls = [
        lambda: customer_resolve(identities=[email("nueva@example.com")], channel=Channel.WEB).customer.pk,
        lambda: (
            customer_resolve(
                identities=[email("nueva@example.com"), phone("612345678")], channel=Channel.STORE
            ).customer.pk
        ),
    ]

    customer_ids = run_at_once(calls)
    errors = raised(customer_ids)

    assert errors == []
    customer = Customer.objects.get()
    assert set(customer_ids) == {customer.pk}
    assert owned_identities(customer) == {("email", "nueva@example.com"), ("phone", "+34612345678")}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("slow_identity_inserts")
def test_concurrent_resolves_of_the_same_new_identities_in_another_order_create_one_customer() -> None:
    # One channel sends [e-mail, phone], the other [phone, e-mail]: each must not wait for the
    # other's row while holding the one the other needs (a deadlock is not retried).
    calls = [
        lambda: (
            customer_resolve(
                identities=[email("nueva@example.com"), phone("612345678")], channel=Channel.WEB
            ).customer.pk
        ),
        lambda: (
            customer_resolve(
                identities=[phone("612345678"), email("nueva@example.com")], channel=Channel.STORE
            ).customer.pk
        ),
    ]

    customer_ids = run_at_once(calls)
    errors = raised(customer_ids)

    assert errors == []
    customer = Customer.objects.get()
    assert set(customer_ids) == {customer.pk}
    assert owned_identities(customer) == {("email", "nueva@example.com"), ("phone", "+34612345678")}
