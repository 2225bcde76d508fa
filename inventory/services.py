"""Every change to stock. One primitive, `_apply`, does them all:

- the rows are locked by one SELECT ... FOR UPDATE in (location, variant) order (inventory.locks,
  the lock order every app follows), so two multi-line operations lock in the same order and
  cannot deadlock, and the guard is checked on values nobody else can change before the
  commit: no read-then-write race, no oversell;
- every row is then written by one UPDATE: the cost does not grow with the number of lines;
- the movement ledger is appended in the same transaction; a failed guard rolls back all.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Variant
from config.transactions import use_case
from inventory.exceptions import InventoryErrorCode, OutOfStock, StockRuleBroken, TransferStateError
from inventory.locks import LockedLevel, stock_keys_q, stock_levels_lock, transfer_lock
from inventory.models import (
    CycleCount,
    CycleCountLine,
    CycleCountStatus,
    Location,
    LowStockAlert,
    MovementKind,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    TransferStatus,
)
from inventory.selectors import user_may_manage_location


@dataclass(frozen=True)
class StockLine:
    """A quantity of a variant at a location."""

    location: Location
    variant: Variant
    quantity: int


@dataclass(frozen=True)
class _Change:
    location_id: int
    variant_id: int
    on_hand: int
    reserved: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.location_id, self.variant_id)


def _validate_quantities(lines: Iterable[StockLine]) -> list[StockLine]:
    lines = list(lines)
    if not lines:
        raise ValidationError({"lines": [_("Give at least one line.")]})
    errors = {
        f"lines[{i}].quantity": [_("A quantity is a whole number greater than zero.")]
        for i, line in enumerate(lines)
        if not _is_whole(line.quantity) or line.quantity <= 0
    }
    if errors:
        raise ValidationError(errors)
    return lines


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_access(user: Any, location_ids: Iterable[int]) -> None:
    if user is None:
        return
    for location_id in set(location_ids):
        if not user_may_manage_location(user=user, location_id=location_id):
            raise PermissionDenied(_("You do not manage this location's stock."))


def _merge(lines: Iterable[StockLine]) -> dict[tuple[int, int], int]:
    merged: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        merged[(line.location.pk, line.variant.pk)] += line.quantity
    return merged


def _holds(change: _Change, level: LockedLevel) -> bool:
    """What must still hold after the change (the row is locked: these values are current)."""
    new_on_hand, new_reserved = level.on_hand + change.on_hand, level.reserved + change.reserved
    return new_on_hand >= 0 and new_reserved >= 0 and new_reserved <= new_on_hand


def _delta_case(deltas: dict[int, int]) -> Any:
    """One UPDATE for every row: each level's own delta, chosen by its id."""
    return Case(*(When(pk=pk, then=Value(delta)) for pk, delta in deltas.items()), default=Value(0))


def _apply(
    changes: Sequence[_Change],
    *,
    kind: str,
    reference: str = "",
    reason: str = "",
    channel: str = "",
    user: Any = None,
    failure: type[Exception] = OutOfStock,
) -> list[StockMovement]:
    """Lock the rows in (location, variant) order in one SELECT, check every guard, write them in one UPDATE.

    A constant number of queries whatever the number of lines: an order of 50 lines costs what
    one of a single line does. The check constraints stay as the database's own backstop.
    """
    creates = all(c.on_hand >= 0 and c.reserved >= 0 for c in changes)
    levels = stock_levels_lock(keys=(c.key for c in changes), create=creates)
    failed = [change for change in changes if change.key not in levels or not _holds(change, levels[change.key])]
    if failed:
        _raise_for(failed, failure)
    level_ids = {key: level.pk for key, level in levels.items()}
    on_hand = {level_ids[c.key]: c.on_hand for c in changes if c.on_hand}
    reserved = {level_ids[c.key]: c.reserved for c in changes if c.reserved}
    updates: dict[str, Any] = {"updated_at": timezone.now()}
    if on_hand:
        updates["on_hand"] = F("on_hand") + _delta_case(on_hand)
    if reserved:
        updates["reserved"] = F("reserved") + _delta_case(reserved)
    StockLevel.objects.filter(pk__in=[level_ids[c.key] for c in changes]).update(**updates)
    movements = StockMovement.objects.bulk_create(
        StockMovement(
            stock_level_id=level_ids[change.key],
            location_id=change.location_id,
            variant_id=change.variant_id,
            kind=kind,
            on_hand_delta=change.on_hand,
            reserved_delta=change.reserved,
            reference=reference,
            reason=reason,
            channel=channel,
            user=user if getattr(user, "pk", None) else None,
        )
        for change in changes
    )
    # Most levels have no threshold: no alert work for them.
    watched = {levels[c.key].pk for c in changes if levels[c.key].low_stock_threshold is not None}
    if watched:
        _low_stock_check(watched)
    transaction.on_commit(_stock_changed)
    return movements


def _raise_for(failed: list[_Change], failure: type[Exception]) -> None:
    current = {
        (loc, var): (available, sku, code)
        for loc, var, available, sku, code in StockLevel.objects.filter(
            stock_keys_q(f.key for f in failed)
        ).values_list("location_id", "variant_id", "available", "variant__sku", "location__code")
    }
    skus = dict(Variant.objects.filter(pk__in=[f.variant_id for f in failed]).values_list("pk", "sku"))
    codes = dict(Location.objects.filter(pk__in=[f.location_id for f in failed]).values_list("pk", "code"))
    lines = [
        {
            "sku": skus.get(f.variant_id),
            "location": codes.get(f.location_id),
            "requested": abs(f.reserved or f.on_hand),
            "available": current.get(f.key, (0,))[0],
        }
        for f in failed
    ]
    message = (
        "Not enough stock for some lines." if failure is OutOfStock else "The stock rule does not allow this change."
    )
    raise failure(message, extra={"lines": lines})  # type: ignore[call-arg]


def _low_stock_check(level_ids: Iterable[int]) -> None:
    """Raise an alert for levels now below their threshold; resolve those back above it."""
    ids = set(level_ids)
    below = StockLevel.objects.filter(
        pk__in=ids, low_stock_threshold__isnull=False, available__lt=F("low_stock_threshold")
    )
    LowStockAlert.objects.bulk_create(
        [
            LowStockAlert(stock_level_id=level.pk, available=level.available, threshold=level.low_stock_threshold or 0)
            for level in below.exclude(alerts__resolved_at__isnull=True, alerts__isnull=False)
        ],
        ignore_conflicts=True,
    )
    LowStockAlert.objects.filter(stock_level_id__in=ids, resolved_at__isnull=True).exclude(
        stock_level__in=below
    ).update(resolved_at=timezone.now())
    if below.exists():
        transaction.on_commit(_low_stock_notify)


DISPATCH_DEBOUNCE_SECONDS = 1


def _stock_changed() -> None:
    """Ask for a dispatch to subscribers, at most once a second: a flash sale's thousand
    commits make one delivery of a thousand changes, not a thousand tasks. The dispatch
    runs after the window, so it includes every change committed within it."""
    from django.core.cache import cache

    from inventory.tasks import stock_changes_dispatch

    if cache.add("inventory:stock-dispatch-due", 1, timeout=DISPATCH_DEBOUNCE_SECONDS):
        stock_changes_dispatch.apply_async(countdown=DISPATCH_DEBOUNCE_SECONDS)


def _low_stock_notify() -> None:
    from inventory.tasks import low_stock_alerts_notify

    low_stock_alerts_notify.delay()


# --- The operations -------------------------------------------------------------------------


@use_case
def stock_receive(
    *, location: Location, lines: Iterable[tuple[Variant, int]], reference: str = "", user: Any = None
) -> list[StockMovement]:
    """Goods arrive at a location (a delivery from a supplier)."""
    stock_lines = _validate_quantities(StockLine(location, variant, quantity) for variant, quantity in lines)
    _check_access(user, [location.pk])
    changes = [_Change(loc, var, qty, 0) for (loc, var), qty in _merge(stock_lines).items()]
    return _apply(changes, kind=MovementKind.RECEIPT, reference=reference, user=user)


@use_case
def stock_adjust(
    *, location: Location, variant: Variant, quantity: int, reason: str, user: Any = None
) -> StockMovement:
    """Correct on_hand by a signed quantity (damage, loss, found). A reason is required."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": [_("Say why the stock is adjusted.")]})
    if not _is_whole(quantity) or quantity == 0:
        raise ValidationError({"quantity": [_("A non-zero whole number.")]})
    _check_access(user, [location.pk])
    change = _Change(location.pk, variant.pk, quantity, 0)
    return _apply([change], kind=MovementKind.ADJUSTMENT, reason=reason.strip(), user=user, failure=StockRuleBroken)[0]


@transaction.atomic
def stock_reserve(*, lines: Iterable[StockLine], reference: str, channel: str = "") -> list[StockMovement]:
    """Reserve every line, or none: OutOfStock lists the lines that cannot be served."""
    stock_lines = _validate_quantities(lines)
    changes = [_Change(loc, var, 0, qty) for (loc, var), qty in _merge(stock_lines).items()]
    return _apply(changes, kind=MovementKind.RESERVATION, reference=reference, channel=channel)


@transaction.atomic
def stock_release(*, lines: Iterable[StockLine], reference: str, channel: str = "") -> list[StockMovement]:
    """Give reserved units back to sale (an order cancelled or expired)."""
    stock_lines = _validate_quantities(lines)
    changes = [_Change(loc, var, 0, -qty) for (loc, var), qty in _merge(stock_lines).items()]
    return _apply(changes, kind=MovementKind.RELEASE, reference=reference, channel=channel, failure=StockRuleBroken)


@transaction.atomic
def stock_commit_sale(*, lines: Iterable[StockLine], reference: str, channel: str = "") -> list[StockMovement]:
    """Reserved units leave with the customer: on_hand and reserved both go down."""
    stock_lines = _validate_quantities(lines)
    changes = [_Change(loc, var, -qty, -qty) for (loc, var), qty in _merge(stock_lines).items()]
    return _apply(changes, kind=MovementKind.SALE, reference=reference, channel=channel, failure=StockRuleBroken)


@transaction.atomic
def stock_restock_return(
    *, location: Location, lines: Iterable[tuple[Variant, int]], reference: str, channel: str = "", user: Any = None
) -> list[StockMovement]:
    """Returned goods go back on sale at the location that received them."""
    stock_lines = _validate_quantities(StockLine(location, variant, quantity) for variant, quantity in lines)
    _check_access(user, [location.pk])
    changes = [_Change(loc, var, qty, 0) for (loc, var), qty in _merge(stock_lines).items()]
    return _apply(changes, kind=MovementKind.RETURN, reference=reference, channel=channel, user=user)


@use_case
def transfer_request(
    *,
    source: Location,
    destination: Location,
    lines: Iterable[tuple[Variant, int]],
    reference: str = "",
    expected_at: Any = None,
    user: Any = None,
) -> Transfer:
    """Ask for goods to move; they are reserved at the source so no channel sells them meanwhile."""
    if source.pk == destination.pk:
        raise ValidationError({"destination": [_("A transfer goes to another location.")]})
    stock_lines = _validate_quantities(StockLine(source, variant, quantity) for variant, quantity in lines)
    _check_access(user, [source.pk])
    merged = _merge(stock_lines)
    transfer = Transfer.objects.create(
        source=source, destination=destination, reference=reference, expected_at=expected_at
    )
    TransferLine.objects.bulk_create(
        TransferLine(transfer=transfer, variant_id=var, quantity=qty) for (_loc, var), qty in merged.items()
    )
    changes = [_Change(loc, var, 0, qty) for (loc, var), qty in merged.items()]
    _apply(changes, kind=MovementKind.RESERVATION, reference=f"T-{transfer.pk}", user=user)
    return transfer


def _transfer_locked(transfer: Transfer, expected: str) -> Transfer:
    locked = transfer_lock(transfer_id=transfer.pk)
    if locked.status != expected:
        raise TransferStateError(
            _("The transfer is %(status)s, not %(expected)s.")
            % {"status": locked.get_status_display(), "expected": TransferStatus(expected).label},
            extra={"status": locked.status},
        )
    return locked


@use_case
def transfer_ship(*, transfer: Transfer, user: Any = None) -> Transfer:
    """The goods leave the source: its on_hand and reserved go down; they are in transit."""
    transfer = _transfer_locked(transfer, TransferStatus.REQUESTED)
    _check_access(user, [transfer.source_id])
    changes = [_Change(transfer.source_id, v, -q, -q) for v, q in transfer.lines.values_list("variant_id", "quantity")]
    _apply(changes, kind=MovementKind.TRANSFER_OUT, reference=f"T-{transfer.pk}", user=user, failure=StockRuleBroken)
    transfer.status, transfer.shipped_at = TransferStatus.IN_TRANSIT, timezone.now()
    transfer.save(update_fields=["status", "shipped_at"])
    return transfer


@use_case
def transfer_receive(*, transfer: Transfer, user: Any = None) -> Transfer:
    """The goods arrive: the destination's on_hand goes up."""
    transfer = _transfer_locked(transfer, TransferStatus.IN_TRANSIT)
    _check_access(user, [transfer.destination_id])
    changes = [
        _Change(transfer.destination_id, v, q, 0) for v, q in transfer.lines.values_list("variant_id", "quantity")
    ]
    _apply(changes, kind=MovementKind.TRANSFER_IN, reference=f"T-{transfer.pk}", user=user)
    transfer.status, transfer.received_at = TransferStatus.RECEIVED, timezone.now()
    transfer.save(update_fields=["status", "received_at"])
    return transfer


@use_case
def transfer_cancel(*, transfer: Transfer, user: Any = None) -> Transfer:
    """A requested transfer is called off: the source's reservation is released."""
    transfer = _transfer_locked(transfer, TransferStatus.REQUESTED)
    _check_access(user, [transfer.source_id])
    changes = [_Change(transfer.source_id, v, 0, -q) for v, q in transfer.lines.values_list("variant_id", "quantity")]
    _apply(changes, kind=MovementKind.RELEASE, reference=f"T-{transfer.pk}", user=user, failure=StockRuleBroken)
    transfer.status = TransferStatus.CANCELLED
    transfer.save(update_fields=["status"])
    return transfer


@use_case
def cycle_count_create(*, location: Location, lines: Iterable[tuple[Variant, int]], user: Any = None) -> CycleCount:
    """Record what staff counted on the shelf; nothing changes until the count is applied."""
    lines = list(lines)
    if not lines:
        raise ValidationError({"lines": [_("Count at least one variant.")]})
    if any(not _is_whole(counted) or counted < 0 for _variant, counted in lines):
        raise ValidationError({"lines": [_("Counted quantities are whole numbers, zero or more.")]})
    _check_access(user, [location.pk])
    count = CycleCount.objects.create(location=location)
    CycleCountLine.objects.bulk_create(CycleCountLine(count=count, variant=v, counted=c) for v, c in lines)
    return count


@use_case
def cycle_count_apply(*, count: CycleCount, user: Any = None) -> list[StockMovement]:
    """Adjust on_hand to what was counted; units reserved for customers must still be there."""
    count = CycleCount.objects.select_for_update().get(pk=count.pk)
    if count.status != CycleCountStatus.OPEN:
        raise StockRuleBroken(_("This count was already applied."), code=InventoryErrorCode.COUNT_APPLIED)
    _check_access(user, [count.location_id])
    counted = dict(count.lines.values_list("variant_id", "counted"))
    levels = stock_levels_lock(keys=((count.location_id, var) for var in counted))
    shelf = {var: level.on_hand for (_loc, var), level in levels.items()}
    changes = [
        _Change(count.location_id, var, quantity - shelf.get(var, 0), 0)
        for var, quantity in sorted(counted.items())
        if quantity != shelf.get(var, 0)
    ]
    movements = []
    if changes:
        movements = _apply(
            changes, kind=MovementKind.COUNT, reference=f"C-{count.pk}", user=user, failure=StockRuleBroken
        )
    count.status, count.applied_at = CycleCountStatus.APPLIED, timezone.now()
    count.save(update_fields=["status", "applied_at"])
    return movements


@use_case
def low_stock_threshold_set(
    *, location: Location, variant: Variant, threshold: int | None, user: Any = None
) -> StockLevel:
    _check_access(user, [location.pk])
    if threshold is not None and threshold < 0:
        raise ValidationError({"threshold": [_("Zero or more.")]})
    level_id = stock_levels_lock(keys=[(location.pk, variant.pk)], create=True)[(location.pk, variant.pk)].pk
    StockLevel.objects.filter(pk=level_id).update(low_stock_threshold=threshold)
    _low_stock_check([level_id])
    return StockLevel.objects.get(pk=level_id)
