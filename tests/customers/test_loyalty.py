"""Loyalty points: a ledger whose sum is the balance, never negative, even with channels racing."""

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings

from config.channels import Channel
from customers.exceptions import InsufficientPoints, ReversalExceedsEarning
from customers.models import Customer, LoyaltyAccount, LoyaltyEntry, LoyaltyEntryKind
from customers.selectors import loyalty_account_ids_due_to_expire
from customers.services import loyalty as loyalty_module
from customers.services import (
    loyalty_account_expire,
    loyalty_account_get_or_create,
    loyalty_adjust,
    loyalty_earn,
    loyalty_earning_reverse,
    loyalty_redeem,
    loyalty_reverse,
)
from customers.tasks import loyalty_expire_sweep
from tests.celery_worker import eager_off, running_worker, wait_until
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory

EXPIRY_DAYS = 730


@pytest.fixture(autouse=True)
def _loyalty_settings(settings: Settings) -> None:
    """Known rules whatever the environment says: one point per unit, points expire after two years."""
    settings.LOYALTY_POINTS_PER_UNIT = 1
    settings.LOYALTY_EXPIRY_DAYS = EXPIRY_DAYS


def customer_with_points(points: int) -> Customer:
    customer = CustomerFactory.create()
    loyalty_adjust(customer=customer, points=points, reason="Opening balance")
    return customer


def balance(customer: Customer) -> int:
    return LoyaltyAccount.objects.get(customer=customer).balance


def ledger_sum(customer: Customer) -> int:
    total = LoyaltyEntry.objects.filter(account__customer=customer).aggregate(total=Sum("points"))["total"]
    return int(total or 0)


def entry_count(customer: Customer) -> int:
    return LoyaltyEntry.objects.filter(account__customer=customer).count()


def make_idle(customer: Customer, days: int = EXPIRY_DAYS + 1) -> LoyaltyAccount:
    LoyaltyAccount.objects.filter(customer=customer).update(last_activity_at=timezone.now() - timedelta(days=days))
    return LoyaltyAccount.objects.get(customer=customer)


# --- Earn ---


@pytest.mark.django_db
def test_earn_gives_whole_currency_units_times_the_rate() -> None:
    customer = CustomerFactory.create()

    entry = loyalty_earn(customer=customer, amount=Decimal("123.45"), reference="ORD-1", channel=Channel.WEB)

    assert entry is not None
    assert (entry.kind, entry.points, entry.reference, entry.channel) == ("earn", 123, "ORD-1", Channel.WEB)
    assert balance(customer) == 123


@pytest.mark.django_db
def test_earn_rate_comes_from_settings(settings: Settings) -> None:
    settings.LOYALTY_POINTS_PER_UNIT = 2
    customer = CustomerFactory.create()

    entry = loyalty_earn(customer=customer, amount=Decimal("123.45"), reference="ORD-1", channel=Channel.WEB)

    assert entry is not None
    assert entry.points == 246
    assert balance(customer) == 246


@pytest.mark.django_db
def test_earn_twice_for_the_same_reference_returns_the_first_entry() -> None:
    customer = CustomerFactory.create()
    first = loyalty_earn(customer=customer, amount=Decimal(50), reference="ORD-1", channel=Channel.WEB)

    again = loyalty_earn(customer=customer, amount=Decimal(80), reference="ORD-1", channel=Channel.STORE)

    assert again == first
    assert balance(customer) == 50
    assert entry_count(customer) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0.99", "0", "-20"])
def test_earn_below_one_unit_earns_nothing(amount: str) -> None:
    customer = CustomerFactory.create()

    entry = loyalty_earn(customer=customer, amount=Decimal(amount), reference="ORD-1", channel=Channel.WEB)

    assert entry is None
    assert not LoyaltyEntry.objects.exists()
    assert not LoyaltyAccount.objects.filter(customer=customer, balance__gt=0).exists()


# --- Redeem ---


@pytest.mark.django_db
def test_redeem_reduces_the_balance_with_a_negative_entry() -> None:
    customer = customer_with_points(100)

    entry = loyalty_redeem(customer=customer, points=30, reference="ORD-2", channel=Channel.APP)

    assert (entry.kind, entry.points, entry.reference, entry.channel) == ("redeem", -30, "ORD-2", Channel.APP)
    assert balance(customer) == 70
    assert entry_count(customer) == 2


@pytest.mark.django_db
def test_redeem_more_than_the_balance_is_refused_and_writes_nothing() -> None:
    customer = customer_with_points(100)

    with pytest.raises(InsufficientPoints) as caught:
        loyalty_redeem(customer=customer, points=101, reference="ORD-2", channel=Channel.WEB)

    assert caught.value.code == "insufficient_points"
    assert balance(customer) == 100
    assert entry_count(customer) == 1


@pytest.mark.django_db
def test_redeem_without_an_account_is_refused_and_writes_nothing() -> None:
    customer = CustomerFactory.create()

    with pytest.raises(InsufficientPoints) as caught:
        loyalty_redeem(customer=customer, points=1, reference="ORD-2", channel=Channel.WEB)

    assert caught.value.code == "insufficient_points"
    assert not LoyaltyAccount.objects.exists()
    assert not LoyaltyEntry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("points", [0, -5])
def test_redeem_refuses_zero_or_negative_points(points: int) -> None:
    customer = customer_with_points(100)

    with pytest.raises(InsufficientPoints):
        loyalty_redeem(customer=customer, points=points, reference="ORD-2", channel=Channel.WEB)

    assert balance(customer) == 100
    assert entry_count(customer) == 1


# --- Adjust ---


@pytest.mark.django_db
@pytest.mark.parametrize("points", [25, -25])
def test_adjust_changes_the_balance_and_keeps_the_reason(points: int) -> None:
    customer = customer_with_points(100)

    entry = loyalty_adjust(customer=customer, points=points, reason="  Goodwill after a late delivery ")

    assert (entry.kind, entry.points, entry.reason) == ("adjust", points, "Goodwill after a late delivery")
    assert balance(customer) == 100 + points


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "   "])
def test_adjust_needs_a_reason(reason: str) -> None:
    customer = customer_with_points(100)

    with pytest.raises(InsufficientPoints):
        loyalty_adjust(customer=customer, points=10, reason=reason)

    assert balance(customer) == 100
    assert entry_count(customer) == 1


@pytest.mark.django_db
def test_negative_adjust_beyond_the_balance_is_refused() -> None:
    customer = customer_with_points(100)

    with pytest.raises(InsufficientPoints) as caught:
        loyalty_adjust(customer=customer, points=-101, reason="Correction")

    assert caught.value.code == "insufficient_points"
    assert balance(customer) == 100
    assert entry_count(customer) == 1


# --- Reverse ---


@pytest.mark.django_db
def test_reverse_gives_back_redeemed_points() -> None:
    customer = customer_with_points(100)
    redeemed = loyalty_redeem(customer=customer, points=40, reference="ORD-3", channel=Channel.WEB)

    reversals = loyalty_reverse(reference="ORD-3", reason="Order cancelled")

    assert [(r.kind, r.points, r.reverses_id, r.reason) for r in reversals] == [
        ("reverse", 40, redeemed.pk, "Order cancelled")
    ]
    assert balance(customer) == 100


@pytest.mark.django_db
def test_reverse_takes_back_earned_points() -> None:
    customer = customer_with_points(10)
    earned = loyalty_earn(customer=customer, amount=Decimal("60.50"), reference="ORD-3", channel=Channel.WEB)
    assert earned is not None

    reversals = loyalty_reverse(reference="ORD-3")

    assert [(r.kind, r.points, r.reverses_id) for r in reversals] == [("reverse", -60, earned.pk)]
    assert balance(customer) == 10


@pytest.mark.django_db
def test_reverse_takes_back_earned_points_only_down_to_zero() -> None:
    customer = CustomerFactory.create()
    loyalty_earn(customer=customer, amount=Decimal(100), reference="ORD-3", channel=Channel.WEB)
    loyalty_redeem(customer=customer, points=80, reference="ORD-4", channel=Channel.STORE)

    reversals = loyalty_reverse(reference="ORD-3")

    assert [r.points for r in reversals] == [-20]
    assert balance(customer) == 0
    assert ledger_sum(customer) == 0


@pytest.mark.django_db
def test_reverse_twice_does_nothing_more() -> None:
    customer = customer_with_points(50)
    loyalty_earn(customer=customer, amount=Decimal(100), reference="ORD-3", channel=Channel.WEB)
    loyalty_redeem(customer=customer, points=30, reference="ORD-3", channel=Channel.WEB)
    loyalty_reverse(reference="ORD-3")
    after_first = (balance(customer), entry_count(customer))

    assert loyalty_reverse(reference="ORD-3") == []

    assert (balance(customer), entry_count(customer)) == after_first
    assert after_first[0] == 50


@pytest.mark.django_db
def test_reverse_of_an_order_that_earned_then_redeemed_restores_the_balance_before_it() -> None:
    # The order earned first and then spent those very points: cancelling it leaves nothing behind,
    # whatever order its entries were written in.
    customer = CustomerFactory.create()
    loyalty_earn(customer=customer, amount=Decimal(100), reference="ORD-3", channel=Channel.WEB)
    loyalty_redeem(customer=customer, points=100, reference="ORD-3", channel=Channel.WEB)

    loyalty_reverse(reference="ORD-3")

    assert balance(customer) == 0
    assert ledger_sum(customer) == 0


@pytest.mark.django_db
def test_reverse_retried_after_new_points_takes_nothing_more() -> None:
    # Nothing could be taken back when the order was cancelled (all spent); a retry of the same
    # reversal later, once the customer earned on another order, must not claw those new points.
    customer = CustomerFactory.create()
    loyalty_earn(customer=customer, amount=Decimal(100), reference="ORD-3", channel=Channel.WEB)
    loyalty_redeem(customer=customer, points=100, reference="ORD-4", channel=Channel.WEB)
    loyalty_reverse(reference="ORD-3")
    loyalty_earn(customer=customer, amount=Decimal(40), reference="ORD-5", channel=Channel.WEB)

    assert loyalty_reverse(reference="ORD-3") == []

    assert balance(customer) == 40


@pytest.mark.django_db
def test_reverse_of_an_unknown_reference_does_nothing() -> None:
    customer = customer_with_points(100)

    assert loyalty_reverse(reference="ORD-404") == []

    assert balance(customer) == 100
    assert entry_count(customer) == 1


# --- Reverse part of an earning (goods returned) ---


def earned(customer: Customer, amount: int, reference: str = "ORD-7") -> LoyaltyEntry:
    entry = loyalty_earn(customer=customer, amount=Decimal(amount), reference=reference, channel=Channel.WEB)
    assert entry is not None
    return entry


@pytest.mark.django_db
def test_part_of_an_earning_is_taken_back() -> None:
    customer = customer_with_points(10)
    earning = earned(customer, 100)

    entry = loyalty_earning_reverse(customer=customer, source="ORD-7", points=30, reason="Returned", channel="store")

    assert (entry.kind, entry.points, entry.reverses_id, entry.reference, entry.reason, entry.channel) == (
        "reverse_part",
        -30,
        earning.pk,
        "ORD-7",
        "Returned",
        "store",
    )
    assert balance(customer) == 80
    assert balance(customer) == ledger_sum(customer)


@pytest.mark.django_db
def test_parts_of_an_earning_add_up_to_all_of_it() -> None:
    customer = CustomerFactory.create()
    earned(customer, 100)

    loyalty_earning_reverse(customer=customer, source="ORD-7", points=30)
    loyalty_earning_reverse(customer=customer, source="ORD-7", points=70)

    assert balance(customer) == 0
    assert ledger_sum(customer) == 0


@pytest.mark.django_db
def test_the_whole_earning_may_be_taken_back_at_once() -> None:
    customer = customer_with_points(5)
    earned(customer, 100)

    entry = loyalty_earning_reverse(customer=customer, source="ORD-7", points=100)

    assert entry.points == -100
    assert balance(customer) == 5


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "then"), [(0, 101), (60, 41), (100, 1)])
def test_more_than_the_earning_has_left_is_refused_and_writes_nothing(first: int, then: int) -> None:
    customer = customer_with_points(500)
    earned(customer, 100)
    if first:
        loyalty_earning_reverse(customer=customer, source="ORD-7", points=first)
    before = (balance(customer), entry_count(customer))

    with pytest.raises(ReversalExceedsEarning) as refused:
        loyalty_earning_reverse(customer=customer, source="ORD-7", points=then)

    assert (refused.value.code, refused.value.status_code) == ("reversal_exceeds_earning", 409)
    assert refused.value.extra == {"earned": 100, "left": 100 - first, "requested": then}
    assert (balance(customer), entry_count(customer)) == before


@pytest.mark.django_db
def test_what_was_never_earned_is_not_taken_back() -> None:
    customer = customer_with_points(50)
    earned(CustomerFactory.create(), 100)  # another customer's earning of the same reference

    with pytest.raises(ReversalExceedsEarning) as refused:
        loyalty_earning_reverse(customer=customer, source="ORD-7", points=10)

    assert refused.value.extra == {"earned": 0, "left": 0, "requested": 10}
    assert balance(customer) == 50


@pytest.mark.django_db
def test_an_earning_reversed_in_full_has_no_part_left() -> None:
    customer = customer_with_points(50)
    earned(customer, 100)
    loyalty_reverse(reference="ORD-7", reason="Order cancelled")

    with pytest.raises(ReversalExceedsEarning):
        loyalty_earning_reverse(customer=customer, source="ORD-7", points=1)

    assert balance(customer) == 50


@pytest.mark.django_db
@pytest.mark.parametrize("points", [0, -5])
def test_reversing_no_points_or_negative_points_is_refused(points: int) -> None:
    customer = CustomerFactory.create()
    earned(customer, 100)

    with pytest.raises(InsufficientPoints) as refused:
        loyalty_earning_reverse(customer=customer, source="ORD-7", points=points)

    assert refused.value.code == "invalid_points"
    assert balance(customer) == 100


@pytest.mark.django_db
def test_a_part_already_spent_is_taken_back_only_down_to_zero() -> None:
    customer = CustomerFactory.create()
    earned(customer, 100)
    loyalty_redeem(customer=customer, points=80, reference="ORD-8", channel=Channel.STORE)

    entry = loyalty_earning_reverse(customer=customer, source="ORD-7", points=50)

    assert entry.points == -20
    assert balance(customer) == 0
    assert ledger_sum(customer) == 0


@pytest.mark.django_db
def test_a_part_cut_short_by_a_low_balance_still_uses_up_the_points_asked() -> None:
    # Goods returned are returned: the 30 points the balance could not give back are forgiven,
    # as a cancellation forgives points already spent, and are not taken from later points.
    customer = CustomerFactory.create()
    earned(customer, 100)
    loyalty_redeem(customer=customer, points=80, reference="ORD-8", channel=Channel.STORE)
    loyalty_earning_reverse(customer=customer, source="ORD-7", points=50)  # takes the 20 left
    loyalty_adjust(customer=customer, points=100, reason="Goodwill")

    with pytest.raises(ReversalExceedsEarning) as refused:
        loyalty_earning_reverse(customer=customer, source="ORD-7", points=51)

    assert refused.value.extra == {"earned": 100, "left": 50, "requested": 51}
    assert loyalty_earning_reverse(customer=customer, source="ORD-7", points=50).points == -50
    assert balance(customer) == 50


@pytest.mark.django_db
def test_cancelling_after_a_part_cut_short_takes_back_only_the_points_not_returned() -> None:
    customer = CustomerFactory.create()
    earned(customer, 100)
    loyalty_redeem(customer=customer, points=80, reference="ORD-8", channel=Channel.STORE)
    loyalty_earning_reverse(customer=customer, source="ORD-7", points=50)  # takes the 20 left
    loyalty_adjust(customer=customer, points=100, reason="Goodwill")

    reversals = loyalty_reverse(reference="ORD-7")

    assert [(r.kind, r.points) for r in reversals] == [("reverse", -50)]
    assert balance(customer) == 50
    assert balance(customer) == ledger_sum(customer)


@pytest.mark.django_db
def test_cancelling_after_a_part_was_taken_back_takes_back_only_the_rest() -> None:
    customer = customer_with_points(10)
    earned(customer, 100)
    loyalty_earning_reverse(customer=customer, source="ORD-7", points=30)

    reversals = loyalty_reverse(reference="ORD-7")

    assert [(r.kind, r.points) for r in reversals] == [("reverse", -70)]
    assert balance(customer) == 10


@pytest.mark.django_db(transaction=True)
def test_two_reversals_of_one_earning_at_once_never_take_back_more_than_it_earned() -> None:
    customer = customer_with_points(500)
    earned(customer, 100)

    results = run_at_once(
        [partial(loyalty_earning_reverse, customer=customer, source="ORD-7", points=60) for _ in range(2)]
    )

    taken = [result for result in results if isinstance(result, LoyaltyEntry)]
    assert [type(result) for result in results if not isinstance(result, LoyaltyEntry)] == [ReversalExceedsEarning]
    assert [entry.points for entry in taken] == [-60]
    assert balance(customer) == 540
    assert balance(customer) == ledger_sum(customer)


@pytest.mark.django_db(transaction=True)
def test_many_parts_taken_back_at_once_add_up_to_the_earning_at_most() -> None:
    customer = customer_with_points(500)
    earned(customer, 100)

    results = run_at_once(
        [partial(loyalty_earning_reverse, customer=customer, source="ORD-7", points=15) for _ in range(10)]
    )

    assert len([result for result in results if isinstance(result, LoyaltyEntry)]) == 6  # 6 x 15 = 90, 10 left
    assert all(isinstance(result, LoyaltyEntry | ReversalExceedsEarning) for result in results)
    assert balance(customer) == 510


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "take_back",
    [
        pytest.param(partial(loyalty_earning_reverse, source="ORD-7", points=50), id="part"),
        pytest.param(lambda customer: loyalty_reverse(reference="ORD-7"), id="cancellation"),
    ],
)
def test_a_redeem_arriving_while_an_earning_is_taken_back_waits_for_it(
    monkeypatch: pytest.MonkeyPatch, take_back: Callable[..., object]
) -> None:
    # Taking back reads the balance (20) and takes what is left; a redeem landing between that
    # read and the taking must wait on the account's lock, not leave it short and refused.
    customer = CustomerFactory.create()
    earned(customer, 100)
    loyalty_redeem(customer=customer, points=80, reference="ORD-8", channel=Channel.STORE)
    real_apply = loyalty_module._apply
    redeemed: list[object] = []

    def redeem() -> None:
        try:
            redeemed.append(loyalty_redeem(customer=customer, points=15, reference="ORD-9", channel=Channel.WEB))
        except InsufficientPoints as exc:
            redeemed.append(exc)
        finally:
            connection.close()

    other = threading.Thread(target=redeem)

    def apply_after_a_concurrent_redeem(account: LoyaltyAccount, points: int) -> None:
        if not other.is_alive() and not redeemed:  # the taking back itself, once
            other.start()
            other.join(timeout=1)  # done at once without the lock; waits for our commit with it
        real_apply(account, points)

    monkeypatch.setattr(loyalty_module, "_apply", apply_after_a_concurrent_redeem)

    take_back(customer=customer)
    other.join(timeout=10)

    assert LoyaltyEntry.objects.get(reverses__kind=LoyaltyEntryKind.EARN).points == -20
    assert [type(result) for result in redeemed] == [InsufficientPoints]
    assert balance(customer) == 0
    assert ledger_sum(customer) == 0


@pytest.mark.django_db
def test_database_refuses_a_part_that_gives_points_or_names_no_earning() -> None:
    customer = CustomerFactory.create()
    earning = earned(customer, 100)

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyEntry.objects.create(account=earning.account, kind="reverse_part", points=5, reverses=earning)
    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyEntry.objects.create(account=earning.account, kind="reverse_part", points=-5)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "points", "requested"), [("reverse_part", -20, 10), ("reverse", -20, 20), ("adjust", 5, 5)]
)
def test_database_refuses_points_requested_below_those_taken_or_outside_a_part(
    kind: str, points: int, requested: int
) -> None:
    earning = earned(CustomerFactory.create(), 100)

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyEntry.objects.create(
            account=earning.account, kind=kind, points=points, requested_points=requested, reverses=earning
        )


# --- The ledger explains the balance ---


@pytest.mark.django_db
def test_balance_always_equals_the_sum_of_the_ledger() -> None:
    customer = CustomerFactory.create()
    steps: list[Callable[[], object]] = [
        lambda: loyalty_earn(customer=customer, amount=Decimal("120.90"), reference="ORD-1", channel=Channel.WEB),
        lambda: loyalty_redeem(customer=customer, points=45, reference="ORD-2", channel=Channel.STORE),
        lambda: loyalty_adjust(customer=customer, points=15, reason="Birthday gift"),
        lambda: loyalty_earn(customer=customer, amount=Decimal("80"), reference="ORD-2", channel=Channel.STORE),
        lambda: loyalty_adjust(customer=customer, points=-10, reason="Correction"),
        lambda: loyalty_redeem(customer=customer, points=100, reference="ORD-3", channel=Channel.APP),
        lambda: loyalty_reverse(reference="ORD-1", reason="Returned"),
        lambda: loyalty_reverse(reference="ORD-2", reason="Cancelled"),
        lambda: loyalty_reverse(reference="ORD-3", reason="Cancelled"),
        lambda: loyalty_reverse(reference="ORD-3", reason="Cancelled again"),
    ]
    for step in steps:
        step()
        assert balance(customer) == ledger_sum(customer)
        assert balance(customer) >= 0
    assert entry_count(customer) == 10


# --- Database guards ---


@pytest.mark.django_db
def test_database_refuses_a_negative_balance() -> None:
    customer = customer_with_points(10)

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyAccount.objects.filter(customer=customer).update(balance=-1)

    assert balance(customer) == 10


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "points"),
    [
        (LoyaltyEntryKind.EARN, -5),
        (LoyaltyEntryKind.REDEEM, 5),
        (LoyaltyEntryKind.EXPIRE, 5),
        (LoyaltyEntryKind.ADJUST, 0),
    ],
)
def test_database_refuses_an_entry_with_points_of_the_wrong_sign(kind: str, points: int) -> None:
    account = loyalty_account_get_or_create(customer=CustomerFactory.create())

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyEntry.objects.create(account=account, kind=kind, points=points, reason="x")


@pytest.mark.django_db
def test_database_refuses_reversing_an_entry_twice() -> None:
    customer = customer_with_points(100)
    redeemed = loyalty_redeem(customer=customer, points=10, reference="ORD-1", channel=Channel.WEB)
    loyalty_reverse(reference="ORD-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyEntry.objects.create(
            account=redeemed.account, kind=LoyaltyEntryKind.REVERSE, points=10, reverses=redeemed
        )


# --- Channels redeeming at once (real PostgreSQL, real threads) ---


@pytest.mark.django_db(transaction=True)
def test_ten_channels_redeeming_at_once_cannot_overspend() -> None:
    customer = customer_with_points(100)
    channels = [Channel.WEB, Channel.APP, Channel.STORE, Channel.CALL_CENTER, Channel.WHATSAPP] * 2

    results = run_at_once(
        [
            partial(loyalty_redeem, customer=customer, points=30, reference=f"ORD-{i}", channel=channel)
            for i, channel in enumerate(channels)
        ]
    )

    redeemed = [r for r in results if isinstance(r, LoyaltyEntry)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert [r for r in results if r not in redeemed and r not in refused] == []  # no deadlock, no other error
    assert (len(redeemed), len(refused)) == (3, 7)
    assert balance(customer) == 10
    assert ledger_sum(customer) == 10
    assert LoyaltyEntry.objects.filter(kind=LoyaltyEntryKind.REDEEM).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_channels_redeeming_most_of_the_balance_at_once_only_one_wins() -> None:
    customer = customer_with_points(100)

    results = run_at_once(
        [
            lambda: loyalty_redeem(customer=customer, points=60, reference="WEB-1", channel=Channel.WEB),
            lambda: loyalty_redeem(customer=customer, points=60, reference="TPV-1", channel=Channel.STORE),
        ]
    )

    assert sorted(type(r).__name__ for r in results) == ["InsufficientPoints", "LoyaltyEntry"]
    assert balance(customer) == 40
    assert ledger_sum(customer) == 40


# --- Expiry ---


@pytest.mark.django_db
def test_expire_takes_the_whole_balance_of_an_idle_account() -> None:
    customer = customer_with_points(120)
    account = make_idle(customer)

    entry = loyalty_account_expire(account_id=account.pk)

    assert entry is not None
    assert (entry.kind, entry.points) == ("expire", -120)
    assert balance(customer) == 0
    assert ledger_sum(customer) == 0


@pytest.mark.django_db
def test_expire_leaves_an_active_account_alone() -> None:
    customer = customer_with_points(120)
    account = make_idle(customer, days=EXPIRY_DAYS - 1)

    assert loyalty_account_expire(account_id=account.pk) is None

    assert balance(customer) == 120
    assert entry_count(customer) == 1


@pytest.mark.django_db
def test_expire_does_nothing_when_expiry_is_off(settings: Settings) -> None:
    settings.LOYALTY_EXPIRY_DAYS = 0
    customer = customer_with_points(120)
    account = make_idle(customer, days=10 * 365)

    assert loyalty_account_expire(account_id=account.pk) is None

    assert balance(customer) == 120
    assert loyalty_account_ids_due_to_expire() == []


@pytest.mark.django_db
def test_expire_is_idempotent() -> None:
    customer = customer_with_points(120)
    account = make_idle(customer)
    loyalty_account_expire(account_id=account.pk)

    assert loyalty_account_expire(account_id=account.pk) is None

    assert balance(customer) == 0
    assert LoyaltyEntry.objects.filter(kind=LoyaltyEntryKind.EXPIRE).count() == 1


@pytest.mark.django_db
def test_expire_of_an_unknown_account_does_nothing() -> None:
    assert loyalty_account_expire(account_id=987654) is None


@pytest.mark.django_db
def test_accounts_due_to_expire_are_exactly_the_idle_ones_with_points() -> None:
    idle = make_idle(customer_with_points(120))
    make_idle(customer_with_points(50), days=EXPIRY_DAYS - 1)  # active
    spent = customer_with_points(50)
    loyalty_redeem(customer=spent, points=50, reference="ORD-1", channel=Channel.WEB)
    make_idle(spent)  # idle, but nothing to expire

    assert loyalty_account_ids_due_to_expire() == [idle.pk]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_expires_idle_accounts_swept_through_redis() -> None:
    idle = make_idle(customer_with_points(120))
    active = customer_with_points(80)
    # The sweep enqueues each expiry on the default queue "celery". Test settings give every
    # pytest process its own Redis database, so that queue is this run's alone: consume it.
    with running_worker("celery"), eager_off():
        loyalty_expire_sweep.apply_async(queue="celery")
        assert wait_until(lambda: LoyaltyEntry.objects.filter(account=idle, kind=LoyaltyEntryKind.EXPIRE).exists())

    assert LoyaltyAccount.objects.get(pk=idle.pk).balance == 0
    assert balance(active) == 80


# --- Query counts ---


@pytest.mark.django_db
def test_redeem_runs_a_constant_small_number_of_queries(django_assert_max_num_queries: DjangoAssertNumQueries) -> None:
    customer = customer_with_points(1000)
    for i in range(20):
        loyalty_earn(customer=customer, amount=Decimal(10), reference=f"ORD-{i}", channel=Channel.WEB)

    with django_assert_max_num_queries(5):
        loyalty_redeem(customer=customer, points=30, reference="ORD-X", channel=Channel.WEB)
