"""customer_merge: every row that points at the removed customer ends on the kept one."""

import datetime
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.apps import apps
from django.db.models import ForeignKey, Model, Q
from django.utils import timezone

from config.channels import Channel
from customers.exceptions import MergeRefused
from customers.models import (
    BroughtCustomer,
    ContactPoint,
    Customer,
    CustomerEvent,
    CustomerMerge,
    DuplicateCandidate,
    DuplicateReason,
    LoyaltyAccount,
    LoyaltyEntry,
    StoreCreditAccount,
    StoreCreditEntry,
)
from customers.relations import customer_relations
from customers.selectors import loyalty_account_ids_due_to_expire
from customers.services import customer_merge, customer_resolve, store_credit_balance, store_credit_grant
from orders.models import Order
from tests.factories import (
    ConsentFactory,
    ContactPointFactory,
    CustomerEventFactory,
    CustomerFactory,
    UserFactory,
    channel_client,
    invoice_issue_for,
)

pytestmark = pytest.mark.django_db


def loyalty_account_with(customer: Customer, *points: int) -> LoyaltyAccount:
    """An account whose cached balance is its ledger's sum."""
    account = LoyaltyAccount.objects.create(customer=customer, balance=sum(points))
    for n, earned in enumerate(points):
        LoyaltyEntry.objects.create(account=account, kind="earn", points=earned, reference=f"{customer.pk}-{n}")
    return account


def duplicate_pair(first: Customer, second: Customer) -> DuplicateCandidate:
    low, high = sorted((first, second), key=lambda customer: customer.pk)
    return DuplicateCandidate.objects.create(customer=low, other=high, reason=DuplicateReason.IDENTITY_CONFLICT)


def order_row_for(customer: Customer) -> Order:
    """A bare order row (placing a real one needs a catalogue and stock, beside the point here)."""
    return Order.objects.create(
        number=f"TEST-{customer.pk}",
        channel=Channel.WEB,
        idempotency_scope="test",
        idempotency_key=f"merge-{customer.pk}",
        customer=customer,
        fulfilment_type="ship",
        shipping_street="Calle Luna 3",
        currency="EUR",
        total=Decimal("10.00"),
        tax_total=Decimal("1.74"),
        ready_date=timezone.localdate(),
    )


def paired_with_a_newer_customer(customer: Customer) -> DuplicateCandidate:
    """A pair in which `customer` is `customer` (the lower id)."""
    return duplicate_pair(customer, CustomerFactory.create())


def paired_with_an_older_customer(customer: Customer) -> DuplicateCandidate:
    """A pair in which `customer` is `other`: the partner is the oldest other customer in the test."""
    older = Customer.objects.filter(pk__lt=customer.pk).order_by("pk").first()
    assert older is not None, "create a customer before the one paired, so it can sit in `other`"
    return duplicate_pair(older, customer)


# One maker per relation to Customer, in any app: it creates one row pointing at the customer given.
# A later app that adds a foreign key to Customer adds its maker here, or the test below fails.
ROW_MAKERS: dict[str, Callable[[Customer], Model]] = {
    "customers.BroughtCustomer.customer": lambda customer: BroughtCustomer.objects.create(
        client=channel_client(Channel.MARKETPLACE)[0], customer=customer
    ),
    "customers.Consent.customer": lambda customer: ConsentFactory.create(customer=customer),
    "customers.ContactPoint.customer": lambda customer: ContactPointFactory.create(customer=customer),
    "customers.CustomerEvent.customer": lambda customer: CustomerEventFactory.create(customer=customer),
    "customers.CustomerMerge.customer": lambda customer: CustomerMerge.objects.create(
        customer=customer, removed_customer_id=0, removed_snapshot={"id": 0}
    ),
    "customers.DuplicateCandidate.customer": paired_with_a_newer_customer,
    "customers.DuplicateCandidate.other": paired_with_an_older_customer,
    "customers.LoyaltyAccount.customer": lambda customer: LoyaltyAccount.objects.create(customer=customer),
    "customers.StoreCreditAccount.customer": lambda customer: StoreCreditAccount.objects.create(
        customer=customer, currency="EUR"
    ),
    "invoicing.Invoice.customer": lambda customer: invoice_issue_for(customer=customer),
    "orders.Order.customer": lambda customer: order_row_for(customer),
}

# Rows that a merge settles instead of moving. A duplicate pair naming the removed customer cannot
# be re-pointed: keep~remove would become keep~keep, and remove~third is left for the duplicate
# finder to find again. So every pair naming `remove` (with keep or with a third customer) is
# deleted by design (keep~remove is first marked merged, then deleted with the rest).
DELETED_BY_MERGE = frozenset({"customers.DuplicateCandidate.customer", "customers.DuplicateCandidate.other"})


@pytest.fixture
def keep() -> Customer:
    return CustomerFactory.create(name="Ana García")


@pytest.fixture
def remove(keep: Customer) -> Customer:
    return CustomerFactory.create(name="Ana")


def merge(keep: Customer, remove: Customer) -> CustomerMerge:
    merged = customer_merge(keep=keep, remove=remove)
    keep.refresh_from_db()
    return merged


# Every foreign key, in every app


def test_merge_covers_every_foreign_key() -> None:
    relations = customer_relations()
    missing = [relation.label for relation in relations if relation.label not in ROW_MAKERS]
    assert not missing, "\n".join(f"add a row maker for {label} so merge is proven to move it" for label in missing)
    CustomerFactory.create(name="Bystander")  # an older partner for pairs where `remove` is `other`
    keep = CustomerFactory.create(name="Keep")
    remove = CustomerFactory.create(name="Remove")
    rows = {relation.label: ROW_MAKERS[relation.label](remove) for relation in relations}

    customer_merge(keep=keep, remove=remove)

    for relation in relations:
        row = rows[relation.label]
        reloaded = relation.model._base_manager.filter(pk=row.pk).first()
        if relation.label in DELETED_BY_MERGE:
            assert reloaded is None, f"{relation.label}: a pair naming the removed customer must be deleted"
            continue
        assert reloaded is not None, f"{relation.label}: the row was lost instead of moved"
        assert getattr(reloaded, relation.field.attname) == keep.pk, f"{relation.label} still points elsewhere"


def test_customer_relations_list_every_foreign_key_to_customer_in_the_project() -> None:
    # Walked independently of customer_relations(): many-to-many tables (auto-created models)
    # and keys to a proxy of Customer are foreign keys to a customer too.
    every_key = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models(include_auto_created=True)
        if not model._meta.proxy
        for field in model._meta.fields
        if isinstance(field, ForeignKey) and field.related_model._meta.concrete_model is Customer
    }

    assert every_key - {relation.label for relation in customer_relations()} == set()


def test_every_row_maker_names_a_relation_to_customer() -> None:
    labels = {relation.label for relation in customer_relations()}

    assert set(ROW_MAKERS) - labels == set(), "remove row makers for relations that no longer exist"


# What moves


def test_merge_moves_identities_to_keep(keep: Customer, remove: Customer) -> None:
    ContactPointFactory.create(customer=keep, value="ana@example.com")
    ContactPointFactory.create(customer=remove, value="ana.garcia@example.com")
    ContactPointFactory.create(customer=remove, kind="phone", value="+34612345678")

    merge(keep, remove)

    assert set(ContactPoint.objects.values_list("customer_id", "normalised_value")) == {
        (keep.pk, "ana@example.com"),
        (keep.pk, "ana.garcia@example.com"),
        (keep.pk, "+34612345678"),
    }


def test_merge_moves_timeline_events_to_keep(keep: Customer, remove: Customer) -> None:
    events = [CustomerEventFactory.create(customer=remove), CustomerEventFactory.create(customer=keep)]

    merge(keep, remove)

    assert set(CustomerEvent.objects.filter(customer=keep).values_list("pk", flat=True)) == {e.pk for e in events}


def test_merge_moves_consents_to_keep(keep: Customer, remove: Customer) -> None:
    consent = ConsentFactory.create(customer=remove, channel=Channel.WHATSAPP)

    merge(keep, remove)

    consent.refresh_from_db()
    assert consent.customer_id == keep.pk


def test_merge_sums_loyalty_when_both_have_accounts(keep: Customer, remove: Customer) -> None:
    kept_account = loyalty_account_with(keep, 100)
    removed_account = loyalty_account_with(remove, 30, 20)

    merge(keep, remove)

    kept_account.refresh_from_db()
    assert kept_account.balance == 150
    assert LoyaltyEntry.objects.filter(account=kept_account).count() == 3
    assert not LoyaltyAccount.objects.filter(pk=removed_account.pk).exists()


def test_merged_loyalty_balance_is_the_ledger_sum(keep: Customer, remove: Customer) -> None:
    kept_account = loyalty_account_with(keep, 100)
    loyalty_account_with(remove, 30, 20)

    merge(keep, remove)

    kept_account.refresh_from_db()
    assert kept_account.balance == sum(
        LoyaltyEntry.objects.filter(account=kept_account).values_list("points", flat=True)
    )


def test_merge_moves_the_loyalty_account_when_only_remove_has_one(keep: Customer, remove: Customer) -> None:
    account = loyalty_account_with(remove, 40)

    merge(keep, remove)

    account.refresh_from_db()
    assert account.customer_id == keep.pk
    assert account.balance == 40
    assert LoyaltyEntry.objects.get().account_id == account.pk


def test_merged_loyalty_account_keeps_the_latest_activity(keep: Customer, remove: Customer) -> None:
    # Points the removed customer earned yesterday must not expire because keep's account was idle.
    kept_account = loyalty_account_with(keep, 10)
    loyalty_account_with(remove, 500)
    long_ago = timezone.now() - datetime.timedelta(days=800)
    yesterday = timezone.now() - datetime.timedelta(days=1)
    LoyaltyAccount.objects.filter(customer=keep).update(last_activity_at=long_ago, created_at=long_ago)
    LoyaltyAccount.objects.filter(customer=remove).update(last_activity_at=yesterday)

    merge(keep, remove)

    assert kept_account.pk not in loyalty_account_ids_due_to_expire()


def credit(customer: Customer, *amounts: str, currency: str = "EUR") -> None:
    for n, amount in enumerate(amounts):
        store_credit_grant(
            customer=customer,
            amount=Decimal(amount),
            reference=f"G-{customer.pk}-{n}",
            reason="goodwill",
            currency=currency,
        )


def test_merge_sums_store_credit_when_both_have_an_account_in_the_currency(keep: Customer, remove: Customer) -> None:
    credit(keep, "10.00")
    credit(remove, "5.50", "2.25")
    removed_account = StoreCreditAccount.objects.get(customer=remove)

    merge(keep, remove)

    assert store_credit_balance(customer=keep) == Decimal("17.75")
    assert StoreCreditEntry.objects.filter(account__customer=keep).count() == 3
    assert not StoreCreditAccount.objects.filter(pk=removed_account.pk).exists()


def test_merged_store_credit_balance_is_the_ledger_sum(keep: Customer, remove: Customer) -> None:
    credit(keep, "10.00")
    credit(remove, "5.50")

    merge(keep, remove)

    account = StoreCreditAccount.objects.get(customer=keep)
    assert account.balance == sum(account.entries.values_list("amount", flat=True))


def test_merge_moves_the_store_credit_account_when_only_remove_has_one(keep: Customer, remove: Customer) -> None:
    credit(remove, "8.00")
    account = StoreCreditAccount.objects.get(customer=remove)

    merge(keep, remove)

    account.refresh_from_db()
    assert (account.customer_id, account.balance) == (keep.pk, Decimal("8.00"))
    assert StoreCreditEntry.objects.get().account_id == account.pk


def test_merge_keeps_store_credit_in_each_currency_apart(keep: Customer, remove: Customer) -> None:
    credit(keep, "10.00")
    credit(remove, "4.00", currency="USD")
    credit(remove, "1.00")

    merge(keep, remove)

    assert (store_credit_balance(customer=keep), store_credit_balance(customer=keep, currency="USD")) == (
        Decimal("11.00"),
        Decimal("4.00"),
    )
    assert StoreCreditAccount.objects.filter(customer=keep).count() == 2


def test_every_store_credit_account_left_after_a_merge_holds_its_ledger_sum(keep: Customer, remove: Customer) -> None:
    credit(keep, "10.00", "3.00")
    credit(keep, "7.00", currency="GBP")
    credit(remove, "5.50", "2.25")
    credit(remove, "4.00", "6.00", currency="USD")

    merge(keep, remove)

    accounts = StoreCreditAccount.objects.filter(customer=keep)
    assert sorted(accounts.values_list("currency", flat=True)) == ["EUR", "GBP", "USD"]
    for account in accounts:
        assert account.balance == sum(account.entries.values_list("amount", flat=True)), account.currency


def test_merge_audit_counts_store_credit_entries_moved_and_accounts_handed_over(
    keep: Customer, remove: Customer
) -> None:
    credit(keep, "10.00")
    credit(remove, "5.50", "2.25")  # two entries move into keep's EUR account
    credit(remove, "4.00", "6.00", currency="USD")  # the USD account changes hands: one row

    merged = merge(keep, remove)

    assert CustomerMerge.objects.get(pk=merged.pk).moved["customers.StoreCreditAccount.customer"] == 3


def test_the_client_that_brought_the_removed_customer_reaches_the_one_kept(keep: Customer, remove: Customer) -> None:
    marketplace, _ = channel_client(Channel.MARKETPLACE)
    BroughtCustomer.objects.create(client=marketplace, customer=remove)

    merge(keep, remove)

    assert list(BroughtCustomer.objects.values_list("client_id", "customer_id")) == [(marketplace.pk, keep.pk)]


def test_a_client_that_brought_both_customers_keeps_one_row(keep: Customer, remove: Customer) -> None:
    marketplace, _ = channel_client(Channel.MARKETPLACE)
    BroughtCustomer.objects.create(client=marketplace, customer=keep)
    BroughtCustomer.objects.create(client=marketplace, customer=remove)

    merge(keep, remove)

    assert list(BroughtCustomer.objects.values_list("client_id", "customer_id")) == [(marketplace.pk, keep.pk)]


# The profile


def test_merge_fills_blank_profile_fields_of_keep_from_remove() -> None:
    keep = CustomerFactory.create(name="", country="", city="", tax_id="")
    remove = CustomerFactory.create(
        name="Ana García",
        birth_date=datetime.date(1990, 5, 17),
        country="AR",
        city="Rosario",
        preferred_language="es",
        preferred_contact_channel=Channel.WHATSAPP,
        tax_id="20267565393",
    )

    merge(keep, remove)

    assert (
        keep.name,
        keep.birth_date,
        keep.country,
        keep.city,
        keep.preferred_language,
        keep.preferred_contact_channel,
        keep.tax_id,
    ) == ("Ana García", datetime.date(1990, 5, 17), "AR", "Rosario", "es", Channel.WHATSAPP, "20267565393")


def test_merge_keeps_the_profile_fields_keep_already_has() -> None:
    keep = CustomerFactory.create(name="Ana García", country="ES", birth_date=datetime.date(1990, 5, 17))
    remove = CustomerFactory.create(name="Anita", country="AR", birth_date=datetime.date(1991, 1, 1))

    merge(keep, remove)

    assert (keep.name, keep.country, keep.birth_date) == ("Ana García", "ES", datetime.date(1990, 5, 17))


def test_merge_keeps_the_first_seen_channel_of_the_older_profile() -> None:
    remove = CustomerFactory.create(first_seen_channel=Channel.STORE)
    keep = CustomerFactory.create(first_seen_channel=Channel.WEB)

    merge(keep, remove)

    assert keep.first_seen_channel == Channel.STORE


def test_merge_deletes_the_removed_customer(keep: Customer, remove: Customer) -> None:
    merge(keep, remove)

    assert not Customer.objects.filter(pk=remove.pk).exists()
    assert Customer.objects.filter(pk=keep.pk).exists()


# Duplicate pairs


def test_merge_deletes_the_pair_of_the_two_merged_customers(keep: Customer, remove: Customer) -> None:
    duplicate_pair(keep, remove)

    merge(keep, remove)

    assert not DuplicateCandidate.objects.exists()


def test_merge_hands_open_pairs_of_the_removed_customer_to_keep(keep: Customer, remove: Customer) -> None:
    # A doubt about remove and a third profile is now a doubt about keep and that profile.
    third = CustomerFactory.create()
    duplicate_pair(remove, third)

    merge(keep, remove)

    pair = DuplicateCandidate.objects.get(Q(customer=third) | Q(other=third))
    assert {pair.customer_id, pair.other_id} == {keep.pk, third.pk}
    assert pair.status == "open"


def test_merge_leaves_pairs_of_keep_with_a_third(keep: Customer, remove: Customer) -> None:
    pair = duplicate_pair(keep, CustomerFactory.create())

    merge(keep, remove)

    assert DuplicateCandidate.objects.filter(pk=pair.pk, status="open").exists()


# The audit row


def test_merge_records_an_audit_row_of_the_removed_customer(keep: Customer, remove: Customer) -> None:
    staff = UserFactory.create(is_staff=True)

    merged = customer_merge(keep=keep, remove=remove, merged_by=staff)

    audit = CustomerMerge.objects.get(pk=merged.pk)
    assert (audit.customer_id, audit.removed_customer_id, audit.merged_by_id) == (keep.pk, remove.pk, staff.pk)


def test_merge_audit_snapshot_holds_the_removed_profile_and_identities(keep: Customer, remove: Customer) -> None:
    ContactPointFactory.create(customer=remove, value="ana.garcia@example.com")
    ContactPointFactory.create(customer=remove, kind="phone", value="+34612345678")

    merged = merge(keep, remove)

    snapshot = CustomerMerge.objects.get(pk=merged.pk).removed_snapshot
    assert (snapshot["id"], snapshot["name"]) == (remove.pk, "Ana")
    assert sorted(snapshot["identities"], key=lambda item: item["kind"]) == [
        {"kind": "email", "value": "ana.garcia@example.com"},
        {"kind": "phone", "value": "+34612345678"},
    ]


def test_merge_audit_counts_the_rows_moved_per_relation(keep: Customer, remove: Customer) -> None:
    ContactPointFactory.create_batch(2, customer=remove)
    CustomerEventFactory.create_batch(3, customer=remove)

    merged = merge(keep, remove)

    moved = CustomerMerge.objects.get(pk=merged.pk).moved
    assert moved["customers.ContactPoint.customer"] == 2
    assert moved["customers.CustomerEvent.customer"] == 3
    assert moved["customers.Consent.customer"] == 0


# Refusals change nothing


def test_merge_into_itself_is_refused_and_changes_nothing(keep: Customer) -> None:
    point = ContactPointFactory.create(customer=keep)

    with pytest.raises(MergeRefused):
        customer_merge(keep=keep, remove=keep)

    assert Customer.objects.filter(pk=keep.pk).exists()
    assert ContactPoint.objects.get(pk=point.pk).customer_id == keep.pk
    assert not CustomerMerge.objects.exists()


@pytest.mark.parametrize("erased", ["keep", "remove"])
def test_merge_with_an_erased_customer_is_refused_and_changes_nothing(erased: str) -> None:
    keep = CustomerFactory.create(name="")
    remove = CustomerFactory.create(name="Ana García")
    Customer.objects.filter(pk=(keep if erased == "keep" else remove).pk).update(erased_at=timezone.now())
    kept_point = ContactPointFactory.create(customer=keep)
    removed_point = ContactPointFactory.create(customer=remove)

    with pytest.raises(MergeRefused):
        customer_merge(keep=keep, remove=remove)

    assert Customer.objects.filter(pk__in=[keep.pk, remove.pk]).count() == 2
    assert ContactPoint.objects.get(pk=kept_point.pk).customer_id == keep.pk
    assert ContactPoint.objects.get(pk=removed_point.pk).customer_id == remove.pk
    assert Customer.objects.get(pk=keep.pk).name == keep.name
    assert not CustomerMerge.objects.exists()


# After the merge


def test_resolving_an_identity_of_the_removed_customer_returns_keep(keep: Customer, remove: Customer) -> None:
    ContactPointFactory.create(customer=remove, kind="phone", value="+34612345678")
    merge(keep, remove)

    resolution = customer_resolve(identities=[{"kind": "phone", "value": "612 34 56 78"}], channel=Channel.STORE)

    assert resolution.customer.pk == keep.pk
    assert resolution.created is False
