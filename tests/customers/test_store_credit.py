"""Store credit: one account per customer and currency, its balance explained by an append-only
ledger, never negative, even with channels spending at once."""

from decimal import Decimal
from functools import partial

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from pytest_django import DjangoAssertNumQueries

from config.channels import Channel
from customers.exceptions import InsufficientStoreCredit, InvalidStoreCreditAmount
from customers.models import Customer, StoreCreditAccount, StoreCreditEntry
from customers.services import store_credit_balance, store_credit_grant, store_credit_spend
from tests.concurrency import raised, run_at_once
from tests.factories import CustomerFactory


def customer_with_credit(amount: str, currency: str = "EUR") -> Customer:
    customer = CustomerFactory.create()
    store_credit_grant(customer=customer, amount=Decimal(amount), reference="G-1", reason="goodwill", currency=currency)
    return customer


def ledger_sum(customer: Customer, currency: str = "EUR") -> Decimal:
    entries = StoreCreditEntry.objects.filter(account__customer=customer, account__currency=currency)
    return entries.aggregate(total=Sum("amount", default=Decimal(0)))["total"]


# --- Grant ---


@pytest.mark.django_db
def test_grant_credits_the_customers_account_and_writes_the_ledger() -> None:
    customer = CustomerFactory.create()

    entry = store_credit_grant(
        customer=customer, amount=Decimal("12.50"), reference="R-1", reason="refund", channel=Channel.STORE
    )

    assert (entry.amount, entry.reference, entry.reason, entry.channel) == (
        Decimal("12.50"),
        "R-1",
        "refund",
        Channel.STORE,
    )
    assert (entry.account.customer_id, entry.account.currency) == (customer.pk, "EUR")
    assert store_credit_balance(customer=customer) == Decimal("12.50")


@pytest.mark.django_db
def test_grants_add_up_on_one_account() -> None:
    customer = customer_with_credit("10.00")

    store_credit_grant(customer=customer, amount=Decimal("2.55"), reference="G-2", reason="goodwill")

    assert StoreCreditAccount.objects.filter(customer=customer).count() == 1
    assert store_credit_balance(customer=customer) == Decimal("12.55")


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_grant_refuses_what_is_not_a_positive_amount_and_writes_nothing(amount: str) -> None:
    customer = CustomerFactory.create()

    with pytest.raises(InvalidStoreCreditAmount) as refused:
        store_credit_grant(customer=customer, amount=Decimal(amount), reference="G-1", reason="goodwill")

    assert refused.value.code == "invalid_amount"
    assert not StoreCreditAccount.objects.filter(customer=customer).exists()


# --- Spend ---


@pytest.mark.django_db
def test_spend_takes_from_the_balance_with_a_negative_entry() -> None:
    customer = customer_with_credit("30.00")

    entry = store_credit_spend(customer=customer, amount=Decimal("19.95"), reference="O-1", channel=Channel.WEB)

    assert (entry.amount, entry.reference, entry.reason, entry.channel) == (
        Decimal("-19.95"),
        "O-1",
        "order",
        Channel.WEB,
    )
    assert store_credit_balance(customer=customer) == Decimal("10.05")


@pytest.mark.django_db
def test_spend_beyond_the_balance_is_refused_with_what_is_left_and_writes_nothing() -> None:
    customer = customer_with_credit("10.00")

    with pytest.raises(InsufficientStoreCredit) as refused:
        store_credit_spend(customer=customer, amount=Decimal("10.01"), reference="O-1")

    assert (refused.value.code, refused.value.status_code) == ("insufficient_store_credit", 409)
    assert refused.value.extra == {"balance": "10.00", "requested": "10.01"}
    assert store_credit_balance(customer=customer) == Decimal("10.00")
    assert StoreCreditEntry.objects.filter(account__customer=customer).count() == 1


@pytest.mark.django_db
def test_spend_without_any_credit_is_refused() -> None:
    customer = CustomerFactory.create()

    with pytest.raises(InsufficientStoreCredit) as refused:
        store_credit_spend(customer=customer, amount=Decimal("1.00"), reference="O-1")

    assert refused.value.extra == {"balance": "0", "requested": "1.00"}
    assert not StoreCreditAccount.objects.filter(customer=customer).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0", "-1.00"])
def test_spend_refuses_what_is_not_a_positive_amount(amount: str) -> None:
    customer = customer_with_credit("10.00")

    with pytest.raises(InvalidStoreCreditAmount):
        store_credit_spend(customer=customer, amount=Decimal(amount), reference="O-1")

    assert store_credit_balance(customer=customer) == Decimal("10.00")


@pytest.mark.django_db
def test_credit_in_one_currency_is_not_spent_in_another() -> None:
    customer = customer_with_credit("10.00", currency="USD")

    with pytest.raises(InsufficientStoreCredit):
        store_credit_spend(customer=customer, amount=Decimal("5.00"), reference="O-1", currency="EUR")

    assert store_credit_balance(customer=customer, currency="USD") == Decimal("10.00")
    assert store_credit_balance(customer=customer) == Decimal(0)


# --- The ledger explains the balance ---


@pytest.mark.django_db
def test_the_balance_always_equals_the_sum_of_the_ledger() -> None:
    customer = CustomerFactory.create()
    steps = [
        partial(store_credit_grant, customer=customer, amount=Decimal("20.00"), reference="R-1", reason="refund"),
        partial(store_credit_spend, customer=customer, amount=Decimal("7.35"), reference="O-1"),
        partial(store_credit_grant, customer=customer, amount=Decimal("0.40"), reference="G-1", reason="goodwill"),
        partial(store_credit_spend, customer=customer, amount=Decimal("13.05"), reference="O-2"),
    ]
    for step in steps:
        step()
        assert store_credit_balance(customer=customer) == ledger_sum(customer)
    assert store_credit_balance(customer=customer) == Decimal(0)


@pytest.mark.django_db
def test_database_refuses_a_negative_balance() -> None:
    customer = customer_with_credit("10.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        StoreCreditAccount.objects.filter(customer=customer).update(balance=Decimal("-0.01"))


@pytest.mark.django_db
def test_database_refuses_a_second_account_in_the_same_currency() -> None:
    customer = customer_with_credit("10.00")

    with pytest.raises(IntegrityError), transaction.atomic():
        StoreCreditAccount.objects.create(customer=customer, currency="EUR")


@pytest.mark.django_db
def test_database_refuses_an_entry_of_nothing() -> None:
    account = StoreCreditAccount.objects.create(customer=CustomerFactory.create(), currency="EUR")

    with pytest.raises(IntegrityError), transaction.atomic():
        StoreCreditEntry.objects.create(account=account, amount=Decimal(0))


@pytest.mark.django_db
def test_spending_is_a_constant_small_number_of_queries(django_assert_max_num_queries: DjangoAssertNumQueries) -> None:
    customer = customer_with_credit("10.00")

    # The account, its guarded update, the ledger row (and the savepoint around them).
    with django_assert_max_num_queries(5):
        store_credit_spend(customer=customer, amount=Decimal("1.00"), reference="O-1")


# --- Channels at once (real PostgreSQL, real threads) ---


@pytest.mark.django_db(transaction=True)
def test_ten_channels_spending_at_once_cannot_overspend() -> None:
    customer = customer_with_credit("30.00")

    results = run_at_once(
        [partial(store_credit_spend, customer=customer, amount=Decimal("5.00"), reference=f"O-{i}") for i in range(10)]
    )

    assert [type(error) for error in raised(results)] == [InsufficientStoreCredit] * 4
    assert store_credit_balance(customer=customer) == Decimal(0)
    assert ledger_sum(customer) == Decimal(0)


@pytest.mark.django_db(transaction=True)
def test_first_grants_at_once_open_one_account() -> None:
    customer = CustomerFactory.create()

    results = run_at_once(
        [
            partial(store_credit_grant, customer=customer, amount=Decimal("1.00"), reference=f"G-{i}", reason="gift")
            for i in range(8)
        ]
    )

    assert raised(results) == []
    assert StoreCreditAccount.objects.filter(customer=customer).count() == 1
    assert store_credit_balance(customer=customer) == Decimal("8.00")
