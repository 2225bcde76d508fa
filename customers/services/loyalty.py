"""Loyalty points: an append-only ledger, and a cached balance that never goes negative.

Every change takes the account row with a guarded UPDATE (`balance >= n`), so two channels
redeeming at once are serialised by the database and cannot overspend.
"""

from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from config.channels import Channel
from config.money import money_round
from config.transactions import use_case
from customers.exceptions import CustomerErased, CustomerErrorCode, InsufficientPoints, ReversalExceedsEarning
from customers.models import Customer, EventKind, LoyaltyAccount, LoyaltyEntry, LoyaltyEntryKind
from customers.services.accounts import account_get_or_create
from customers.services.events import customer_event_record


def loyalty_account_get_or_create(*, customer: Customer) -> LoyaltyAccount:
    return account_get_or_create(LoyaltyAccount, customer=customer)


def _apply(account: LoyaltyAccount, points: int) -> None:
    """Add (or take, if negative) points; refuses to go below zero."""
    updated = LoyaltyAccount.objects.filter(pk=account.pk, balance__gte=max(-points, 0)).update(
        balance=F("balance") + points, last_activity_at=timezone.now()
    )
    if not updated:
        raise InsufficientPoints(_("Not enough points."), extra={"requested": -points, "balance": _balance(account)})


def _locked(account: LoyaltyAccount) -> LoyaltyAccount:
    """The account row locked: concurrent calls for one customer queue here instead of racing."""
    return LoyaltyAccount.objects.select_for_update().get(pk=account.pk)


def _reversal_state(entry: LoyaltyEntry) -> tuple[bool, int]:
    """Whether the entry was reversed in full, and its points not yet taken back in parts.

    A part uses up the points it asked for, even when a low balance let it take fewer (goods
    returned are returned; what was spent already is forgiven, as a cancellation forgives it).
    Read in one query once the entry's row is locked, so it includes what a reversal that held
    the lock before committed.
    """
    state = entry.reversals.aggregate(
        full=Count("pk", filter=Q(kind=LoyaltyEntryKind.REVERSE)),
        used=Sum(Coalesce("requested_points", -F("points")), filter=Q(kind=LoyaltyEntryKind.REVERSE_PART), default=0),
    )
    return state["full"] > 0, entry.points - state["used"]


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
        raise InsufficientPoints(_("Redeem a positive number of points."), code=CustomerErrorCode.INVALID_POINTS)
    account = loyalty_account_get_or_create(customer=customer)
    _apply(account, -points)
    return LoyaltyEntry.objects.create(
        account=account, kind=LoyaltyEntryKind.REDEEM, points=-points, reference=reference, channel=channel
    )


@transaction.atomic
def loyalty_adjust(
    *, customer: Customer, points: int, reason: str, channel: str = "", user: Any = None
) -> LoyaltyEntry:
    """Add or take points by hand, with a reason (`user`: staff who did); never below zero (409)."""
    if points == 0 or not reason.strip():
        raise InsufficientPoints(
            _("An adjustment needs points and a reason."), code=CustomerErrorCode.INVALID_ADJUSTMENT
        )
    account = loyalty_account_get_or_create(customer=customer)
    _apply(account, points)
    return LoyaltyEntry.objects.create(
        account=account,
        kind=LoyaltyEntryKind.ADJUST,
        points=points,
        reason=reason.strip(),
        channel=channel,
        created_by=user,
    )


@use_case
def loyalty_adjust_by_staff(*, customer: Customer, points: int, reason: str, user: Any) -> LoyaltyEntry:
    """Staff add or take points by hand (the customer's admin page): with a reason, on the ledger
    and the timeline, both naming who. Never below zero: taking more than the balance is refused
    (insufficient_points) and nothing changes, whoever redeems at the same moment."""
    reason = (reason or "").strip()
    if points == 0 or not reason:
        fields = {"points": [_("Not zero.")]} if points == 0 else {"reason": [_("Say why.")]}
        raise InsufficientPoints(
            _("An adjustment needs points and a reason."), code=CustomerErrorCode.INVALID_ADJUSTMENT, fields=fields
        )
    if customer.erased_at is not None:
        raise CustomerErased(_("This customer's data was erased."))
    try:
        entry = loyalty_adjust(customer=customer, points=points, reason=reason, channel=Channel.STORE, user=user)
    except InsufficientPoints as exc:
        balance = exc.extra.get("balance")
        raise InsufficientPoints(
            _("The customer has %(balance)s points: fewer than you take.") % {"balance": balance},
            fields={"points": [_("More than the balance.")]},
            extra=exc.extra,
        ) from None
    customer_event_record(
        customer=customer,
        channel=Channel.STORE,
        kind=EventKind.LOYALTY_POINTS_ADJUSTED,
        payload={"change": f"{points:+d}", "reason": reason, "by": user.get_username(), "entry": entry.pk},
    )
    return entry


@transaction.atomic
def loyalty_reverse(*, reference: str, reason: str = "", channel: str = "") -> list[LoyaltyEntry]:
    """Undo what a reference (an order) earned and redeemed, e.g. when it is cancelled.

    Redeemed points come back first, in full; then earned points are taken back as far as the
    balance allows, never into a negative balance (less any part `loyalty_earning_reverse` took
    back already). Every entry is settled once: a reversal that found the points already spent
    is recorded with zero points, so a retry takes nothing more.
    """
    reversals = []
    entries = (
        LoyaltyEntry.objects.select_for_update(of=("self",))
        .filter(reference=reference, kind__in=[LoyaltyEntryKind.EARN, LoyaltyEntryKind.REDEEM])
        .exclude(reversals__kind=LoyaltyEntryKind.REVERSE)
        .order_by("points", "pk")  # redeemed (negative) first
    )
    for entry in entries:
        # Read once the row is locked: a concurrent reversal may have settled it, or taken a part.
        settled, left = _reversal_state(entry)
        if settled:
            continue
        points = -left  # an earning's parts already taken back are not taken twice
        if points < 0:  # the account locked after the entries: a redeem now waits for this
            points = -min(-points, _locked(entry.account).balance)
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
def loyalty_earning_share_reverse(
    *, customer: Customer, source: str, share: Decimal, reason: str = "", channel: str = ""
) -> LoyaltyEntry | None:
    """Take back `share` (a fraction of 1) of what `source` earned, e.g. the goods of a parcel
    cancelled: the whole points of that share, never more than the earning has left. None when
    that is no whole point, or `source` earned nothing."""
    earning = LoyaltyEntry.objects.filter(
        account__customer=customer, kind=LoyaltyEntryKind.EARN, reference=source
    ).first()
    if earning is None:
        return None
    settled, left = _reversal_state(earning)
    points = min(int((earning.points * share).to_integral_value(rounding=ROUND_FLOOR)), 0 if settled else left)
    if points <= 0:
        return None
    return loyalty_earning_reverse(customer=customer, source=source, points=points, reason=reason, channel=channel)


@transaction.atomic
def loyalty_earning_reverse(
    *, customer: Customer, source: str, points: int, reason: str = "", channel: str = ""
) -> LoyaltyEntry:
    """Take back part of what `source` (an order) earned the customer, e.g. for goods returned.

    Never more than the earning has left: what earlier parts took back is counted, and an
    earning reversed in full (`loyalty_reverse`) has nothing left; beyond that, or with no such
    earning, 409 `reversal_exceeds_earning` and nothing is written. The earning's row is locked
    first, then the account, so two reversals of it at once are served one after the other and
    the second sees what the first took, and a redeem at the same moment waits. As a cancellation
    does, the points are taken back as far as the balance allows, never into a negative balance:
    the entry records what was taken, and the points asked, which are what the earning has
    no longer left (the rest is forgiven, not taken from later points).
    """
    if points <= 0:
        raise InsufficientPoints(_("Reverse a positive number of points."), code=CustomerErrorCode.INVALID_POINTS)
    earning = (
        LoyaltyEntry.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(account__customer=customer, kind=LoyaltyEntryKind.EARN, reference=source)
        .first()
    )
    settled, left = _reversal_state(earning) if earning is not None else (True, 0)
    left = 0 if settled else left
    if earning is None or points > left:
        raise ReversalExceedsEarning(
            _("Only %(left)d points of what %(source)s earned are left to take back.")
            % {"left": left, "source": source},
            extra={"earned": earning.points if earning else 0, "left": left, "requested": points},
        )
    # Then the account, as a cancellation does: a redeem arriving now waits, so what the balance
    # allows is still there when it is taken.
    account = _locked(earning.account)
    taken = min(points, account.balance)
    if taken:
        _apply(account, -taken)
    return LoyaltyEntry.objects.create(
        account=account,
        kind=LoyaltyEntryKind.REVERSE_PART,
        points=-taken,
        requested_points=points,
        reference=source,
        reverses=earning,
        reason=reason,
        channel=channel,
    )


@use_case
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
