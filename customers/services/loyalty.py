"""Loyalty points: an append-only ledger, and a cached balance that never goes negative.

Every change takes the account row with a guarded UPDATE (`balance >= n`), so two channels
redeeming at once are serialised by the database and cannot overspend.
"""

from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.money import money_round
from customers.exceptions import CustomerErrorCode, InsufficientPoints
from customers.models import Customer, LoyaltyAccount, LoyaltyEntry, LoyaltyEntryKind


def loyalty_account_get_or_create(*, customer: Customer) -> LoyaltyAccount:
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LoyaltyAccount.objects.create(customer=customer)
    except IntegrityError:  # another channel opened it at the same moment
        return LoyaltyAccount.objects.get(customer=customer)


def _apply(account: LoyaltyAccount, points: int) -> None:
    """Add (or take, if negative) points; refuses to go below zero."""
    updated = LoyaltyAccount.objects.filter(pk=account.pk, balance__gte=max(-points, 0)).update(
        balance=F("balance") + points, last_activity_at=timezone.now()
    )
    if not updated:
        raise InsufficientPoints("Not enough points.", extra={"requested": -points, "balance": _balance(account)})


def _locked(account: LoyaltyAccount) -> LoyaltyAccount:
    """The account row locked: concurrent calls for one customer queue here instead of racing."""
    return LoyaltyAccount.objects.select_for_update().get(pk=account.pk)


def _balance(account: LoyaltyAccount) -> int:
    return int(LoyaltyAccount.objects.values_list("balance", flat=True).get(pk=account.pk))


def loyalty_points_for_amount(amount: Decimal) -> int:
    """Points earned for an amount paid: whole currency units times the earn rate."""
    return int(amount.to_integral_value(rounding=ROUND_FLOOR)) * settings.LOYALTY_POINTS_PER_UNIT


def loyalty_points_value(points: int) -> Decimal:
    """What points are worth when spent, in the default currency."""
    return money_round(Decimal(points) * Decimal(settings.LOYALTY_POINT_VALUE), settings.DEFAULT_CURRENCY)


@transaction.atomic
def loyalty_earn(*, customer: Customer, amount: Decimal, reference: str, channel: str) -> LoyaltyEntry | None:
    """Earn points for a payment. Once per reference: a repeated call returns the first entry."""
    points = loyalty_points_for_amount(amount)
    if points <= 0:
        return None
    account = _locked(loyalty_account_get_or_create(customer=customer))
    earlier = LoyaltyEntry.objects.filter(account=account, kind=LoyaltyEntryKind.EARN, reference=reference).first()
    if earlier is not None:
        return earlier
    _apply(account, points)
    return LoyaltyEntry.objects.create(
        account=account, kind=LoyaltyEntryKind.EARN, points=points, reference=reference, channel=channel
    )


@transaction.atomic
def loyalty_redeem(*, customer: Customer, points: int, reference: str, channel: str) -> LoyaltyEntry:
    if points <= 0:
        raise InsufficientPoints("Redeem a positive number of points.", code=CustomerErrorCode.INVALID_POINTS)
    account = loyalty_account_get_or_create(customer=customer)
    _apply(account, -points)
    return LoyaltyEntry.objects.create(
        account=account, kind=LoyaltyEntryKind.REDEEM, points=-points, reference=reference, channel=channel
    )


@transaction.atomic
def loyalty_adjust(*, customer: Customer, points: int, reason: str, channel: str = "") -> LoyaltyEntry:
    if points == 0 or not reason.strip():
        raise InsufficientPoints("An adjustment needs points and a reason.", code=CustomerErrorCode.INVALID_ADJUSTMENT)
    account = loyalty_account_get_or_create(customer=customer)
    _apply(account, points)
    return LoyaltyEntry.objects.create(
        account=account, kind=LoyaltyEntryKind.ADJUST, points=points, reason=reason.strip(), channel=channel
    )


@transaction.atomic
def loyalty_reverse(*, reference: str, reason: str = "", channel: str = "") -> list[LoyaltyEntry]:
    """Undo what a reference (an order) earned and redeemed, e.g. when it is cancelled.

    Redeemed points come back first, in full; then earned points are taken back as far as the
    balance allows, never into a negative balance. Every entry is settled once: a reversal that
    found the points already spent is recorded with zero points, so a retry takes nothing more.
    """
    reversals = []
    entries = (
        LoyaltyEntry.objects.select_for_update(of=("self",))
        .filter(reference=reference, kind__in=[LoyaltyEntryKind.EARN, LoyaltyEntryKind.REDEEM], reversals=None)
        .order_by("points", "pk")  # redeemed (negative) first
    )
    for entry in entries:
        # A concurrent reversal may have settled it while we waited for the lock.
        if entry.reversals.exists():
            continue
        points = -entry.points
        if points < 0:
            points = -min(-points, _balance(entry.account))
        if points:
            _apply(entry.account, points)
        reversals.append(
            LoyaltyEntry.objects.create(
                account=entry.account,
                kind=LoyaltyEntryKind.REVERSE,
                points=points,
                reference=reference,
                reverses=entry,
                reason=reason,
                channel=channel,
            )
        )
    return reversals


@transaction.atomic
def loyalty_account_expire(*, account_id: int) -> LoyaltyEntry | None:
    """Expire the whole balance of an account idle for LOYALTY_EXPIRY_DAYS; idempotent."""
    days = settings.LOYALTY_EXPIRY_DAYS
    account = LoyaltyAccount.objects.select_for_update().filter(pk=account_id).first()
    if account is None or days <= 0 or account.balance <= 0:
        return None
    if (account.last_activity_at or account.created_at) > timezone.now() - timedelta(days=days):
        return None
    points = account.balance
    _apply(account, -points)
    return LoyaltyEntry.objects.create(
        account=account, kind=LoyaltyEntryKind.EXPIRE, points=-points, reason=f"No activity for {days} days"
    )
