"""The duplicate finder records pairs of profiles that may be one person, for staff to review."""

import datetime

import pytest
from django.utils import timezone

from customers import tasks
from customers.models import Customer, DuplicateCandidate, DuplicateReason
from customers.services import customer_duplicates_find
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

BIRTH_DATE = datetime.date(1990, 5, 17)


def pairs() -> set[tuple[int, int, str]]:
    return set(DuplicateCandidate.objects.values_list("customer_id", "other_id", "reason"))


def test_customers_sharing_a_tax_id_are_recorded_as_a_pair() -> None:
    first = CustomerFactory.create(name="Ana García", tax_id="12345678Z")
    second = CustomerFactory.create(name="A. García", tax_id="12345678Z")
    CustomerFactory.create(tax_id="X1234567L")

    customer_duplicates_find()

    assert pairs() == {(first.pk, second.pk, DuplicateReason.SHARED_TAX_ID)}


def test_customers_sharing_name_in_any_case_and_birth_date_are_recorded_as_a_pair() -> None:
    first = CustomerFactory.create(name="Ana García", birth_date=BIRTH_DATE)
    second = CustomerFactory.create(name="ANA GARCÍA", birth_date=BIRTH_DATE)

    customer_duplicates_find()

    assert pairs() == {(first.pk, second.pk, DuplicateReason.SAME_NAME_AND_BIRTH_DATE)}


def test_same_name_with_another_birth_date_is_not_a_pair() -> None:
    CustomerFactory.create(name="Ana García", birth_date=BIRTH_DATE)
    CustomerFactory.create(name="Ana García", birth_date=datetime.date(1991, 5, 17))
    CustomerFactory.create(name="Ana García", birth_date=None)

    customer_duplicates_find()

    assert pairs() == set()


def test_three_customers_sharing_a_tax_id_are_recorded_as_every_pair() -> None:
    a, b, c = CustomerFactory.create_batch(3, tax_id="20267565393")

    customer_duplicates_find()

    assert {(low, high) for low, high, _ in pairs()} == {(a.pk, b.pk), (a.pk, c.pk), (b.pk, c.pk)}


def test_running_the_finder_twice_records_no_extra_pairs() -> None:
    CustomerFactory.create_batch(2, tax_id="12345678Z")
    CustomerFactory.create_batch(2, name="Ana García", birth_date=BIRTH_DATE)
    customer_duplicates_find()
    first_run = DuplicateCandidate.objects.count()

    customer_duplicates_find()

    assert DuplicateCandidate.objects.count() == first_run == 2


def test_running_the_finder_again_leaves_a_dismissed_pair_dismissed() -> None:
    CustomerFactory.create_batch(2, tax_id="12345678Z")
    customer_duplicates_find()
    DuplicateCandidate.objects.update(status="dismissed")

    customer_duplicates_find()

    assert list(DuplicateCandidate.objects.values_list("status", flat=True)) == ["dismissed"]


def test_erased_customers_are_ignored() -> None:
    CustomerFactory.create(name="Ana García", birth_date=BIRTH_DATE, tax_id="12345678Z")
    erased = CustomerFactory.create(name="Ana García", birth_date=BIRTH_DATE, tax_id="12345678Z")
    Customer.objects.filter(pk=erased.pk).update(erased_at=timezone.now())

    customer_duplicates_find()

    assert pairs() == set()


def test_the_sweeper_task_runs_the_finder() -> None:
    first = CustomerFactory.create(tax_id="12345678Z")
    second = CustomerFactory.create(tax_id="12345678Z")

    tasks.customer_duplicates_find()

    assert pairs() == {(first.pk, second.pk, DuplicateReason.SHARED_TAX_ID)}
