"""Sourcing: where each line of an order is fulfilled from.

`sourcing_plan` turns a fulfilment wish (ship home, pick up at a store, pick up at a locker)
into a plan: for every line, which location gives the units, whether they travel there by
transfer, and the date the line is ready. The rules (each one has a test named after it in
tests/inventory/test_sourcing.py, and the README explains them to staff):

1. Pickup at store S, and S has the whole quantity available: S's own units, ready today.
2. Otherwise ("endless aisle"): one other location with the whole quantity available sends it
   to S by transfer, ready today + the lead time for that (source, S) pair (a
   `TransferLeadTime` row, else `settings.TRANSFER_DEFAULT_LEAD_DAYS`). Among the candidates:
   the earliest ready date, then a warehouse before a store, then the most available, then
   the location code.
3. Split pickup: only when no single location can fill the line. S's own units first, then the
   rest from one location if one can fill the rest, else from several, in rule 2's order.
   The line is ready when its last part arrives.
4. Ship: locations that ship (`can_ship`), warehouses before stores, then the most available,
   then the code. The first one with the whole quantity wins; only when none has it is the
   line split across them, in that order. Ready today (the shipping date).
5. Lockers are supplied like stores, but a locker never gives stock: a locker pickup is always
   served by transfer (rules 2 and 3 without S's own units), and lockers are never a source
   for any line (units returned into a locker wait there for staff to collect them).
   `inventory.selectors.gives_stock` is this rule and 6, and availability promises by it too.
6. Inactive locations never source anything.
7. Lines are independent: each picks its own sources. Two lines of the same variant share
   its stock: the second one only sees what the first left.

There is no separate "ship to store" type: a pickup whose store lacks the stock becomes
endless aisle by itself, and the plan says so (`needs_transfer`).

The planner is a pure read: it reserves nothing and locks nothing. The orders app reserves
`plan.stock_lines()` with `stock_reserve` in the same transaction that creates the order; if
stock moved in between, the reservation raises `OutOfStock` and nothing is sold twice.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from inventory.exceptions import OutOfStock
from inventory.models import Location, LocationKind, StockLevel
from inventory.selectors import gives_stock, lead_days_between, transfer_lead_days
from inventory.services import StockLine


class FulfilmentType(models.TextChoices):
    """How the customer gets the goods. Plain strings ("ship", "pickup", "locker") work too."""

    SHIP = "ship", _("Ship home")
    PICKUP = "pickup", _("Pick up at a store")
    LOCKER = "locker", _("Pick up at a locker")


@dataclass(frozen=True)
class PlannedLine:
    """Units of one variant taken from `source`; moved to `destination` by transfer when needed.

    `destination` is set only when `needs_transfer` is true.
    """

    variant: Variant
    quantity: int
    source: Location
    needs_transfer: bool
    destination: Location | None
    ready_date: date

    def stock_line(self) -> StockLine:
        """What the orders app reserves for this part of the line."""
        return StockLine(location=self.source, variant=self.variant, quantity=self.quantity)


@dataclass(frozen=True)
class SourcingPlan:
    """Where each requested line comes from. A requested line may become several planned lines."""

    fulfilment: str
    pickup_location: Location | None
    requested: list[tuple[Variant, int]]
    lines: list[PlannedLine]
    ready_date: date

    @property
    def is_complete(self) -> bool:
        """Every requested unit has a source (always true for a plan `sourcing_plan` returns)."""
        planned: dict[int, int] = defaultdict(int)
        for line in self.lines:
            planned[line.variant.pk] += line.quantity
        wanted: dict[int, int] = defaultdict(int)
        for variant, quantity in self.requested:
            wanted[variant.pk] += quantity
        return planned == wanted

    @property
    def needs_transfer(self) -> bool:
        return any(line.needs_transfer for line in self.lines)

    def stock_lines(self) -> list[StockLine]:
        """The plan as `StockLine`s, ready for `stock_reserve`."""
        return [line.stock_line() for line in self.lines]


_KIND_RANK: dict[str, int] = {LocationKind.WAREHOUSE: 0, LocationKind.STORE: 1}


@dataclass(frozen=True)
class _Candidate:
    location: Location
    available: int
    ready_date: date


def sourcing_plan(
    *,
    lines: Sequence[tuple[Variant, int]],
    fulfilment: str,
    pickup_location: Location | None = None,
    today: date | None = None,
) -> SourcingPlan:
    """Plan where each line is fulfilled from (see the module docstring for the rules).

    Reads stock in one query and lead times in one more, whatever the number of lines or
    locations. Reserves nothing: the orders app reserves the plan's lines in the order's
    transaction. Raises `ValidationError` for bad input and `OutOfStock` listing every line
    that no combination of locations can serve.
    """
    lines = list(lines)
    _validate(lines=lines, fulfilment=fulfilment, pickup_location=pickup_location)
    today = today or timezone.localdate()
    destination = pickup_location if fulfilment != FulfilmentType.SHIP else None

    # Rules 5 and 6: only active stores and warehouses ever give stock (availability promises by the same rule).
    levels = StockLevel.objects.filter(
        gives_stock("location__"),
        variant_id__in={variant.pk for variant, _ in lines},
        available__gt=0,
    ).select_related("location")
    remaining: dict[int, dict[int, int]] = defaultdict(dict)  # variant -> location -> units left
    locations: dict[int, Location] = {}
    for level in levels:
        remaining[level.variant_id][level.location_id] = level.available
        locations[level.location_id] = level.location
    lead_days = transfer_lead_days(destination=destination) if destination is not None else {}

    planned: list[PlannedLine] = []
    short: list[dict[str, object]] = []
    for variant, quantity in lines:
        stock = remaining[variant.pk]
        if destination is None:
            parts = _plan_ship(variant=variant, quantity=quantity, stock=stock, locations=locations, today=today)
        else:
            parts = _plan_pickup(
                variant=variant,
                quantity=quantity,
                stock=stock,
                locations=locations,
                destination=destination,
                lead_days=lead_days,
                today=today,
            )
        if parts is None:
            servable = sum(units for pk, units in stock.items() if destination is not None or locations[pk].can_ship)
            short.append({"sku": variant.sku, "requested": quantity, "available": servable})
            continue
        for part in parts:
            stock[part.source.pk] -= part.quantity  # rule 7: a later line of the same variant sees what is left
        planned.extend(parts)
    if short:
        raise OutOfStock(gettext("Not enough stock anywhere for some lines."), extra={"lines": short})
    return SourcingPlan(
        fulfilment=FulfilmentType(fulfilment),
        pickup_location=pickup_location,
        requested=lines,
        lines=planned,
        ready_date=max(line.ready_date for line in planned),
    )


def _validate(*, lines: list[tuple[Variant, int]], fulfilment: str, pickup_location: Location | None) -> None:
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = [gettext("Give at least one line.")]
    for i, (_variant, quantity) in enumerate(lines):
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            errors[f"lines[{i}].quantity"] = [gettext("A quantity is a whole number greater than zero.")]
    if fulfilment not in FulfilmentType.values:
        errors["fulfilment"] = [f"Unknown fulfilment {fulfilment!r}: one of {', '.join(FulfilmentType.values)}."]
    elif fulfilment == FulfilmentType.SHIP:
        if pickup_location is not None:
            errors["pickup_location"] = [gettext("A shipped order has no pickup location.")]
    elif pickup_location is None:
        errors["pickup_location"] = [gettext("Say where the customer picks the order up.")]
    elif not pickup_location.is_active or not pickup_location.is_pickup_point:
        errors["pickup_location"] = [f"{pickup_location.code} is not an active pickup point."]
    elif fulfilment == FulfilmentType.LOCKER and pickup_location.kind != LocationKind.LOCKER:
        errors["pickup_location"] = [f"{pickup_location.code} is not a locker."]
    elif fulfilment == FulfilmentType.PICKUP and pickup_location.kind == LocationKind.LOCKER:
        errors["pickup_location"] = [f"{pickup_location.code} is a locker: use the locker fulfilment."]
    if errors:
        raise ValidationError(errors)


def _plan_ship(
    *, variant: Variant, quantity: int, stock: dict[int, int], locations: dict[int, Location], today: date
) -> list[PlannedLine] | None:
    """Rule 4: one shipping location with the whole line, else a split in the same order."""
    candidates = sorted(
        (
            _Candidate(locations[pk], units, today)
            for pk, units in stock.items()
            if units > 0 and locations[pk].can_ship
        ),
        key=lambda c: (_KIND_RANK[c.location.kind], -c.available, c.location.code),
    )
    return _fill(variant=variant, quantity=quantity, candidates=candidates, destination=None)


def _plan_pickup(
    *,
    variant: Variant,
    quantity: int,
    stock: dict[int, int],
    locations: dict[int, Location],
    destination: Location,
    lead_days: dict[tuple[int, int], int],
    today: date,
) -> list[PlannedLine] | None:
    """Rules 1, 2, 3 and 5: the pickup point's own units, else transfers in."""
    own = stock.get(destination.pk, 0)  # always 0 for a locker: lockers are never read as sources
    if own >= quantity:  # rule 1
        return [PlannedLine(variant, quantity, destination, False, None, today)]
    candidates = sorted(
        (
            _Candidate(locations[pk], units, today + timedelta(days=lead_days_between(lead_days, pk, destination.pk)))
            for pk, units in stock.items()
            if units > 0 and pk != destination.pk
        ),
        key=lambda c: (c.ready_date, _KIND_RANK[c.location.kind], -c.available, c.location.code),
    )
    if any(c.available >= quantity for c in candidates):  # rule 2
        return _fill(variant=variant, quantity=quantity, candidates=candidates, destination=destination)
    # Rule 3: own units first, then the rest by transfer.
    rest = _fill(variant=variant, quantity=quantity - own, candidates=candidates, destination=destination)
    if rest is None:
        return None
    return [PlannedLine(variant, own, destination, False, None, today), *rest] if own else rest


def _fill(
    *, variant: Variant, quantity: int, candidates: list[_Candidate], destination: Location | None
) -> list[PlannedLine] | None:
    """One candidate with the whole quantity if any (first in order), else take in order until filled."""
    whole = next((c for c in candidates if c.available >= quantity), None)
    chosen = [whole] if whole is not None else candidates
    parts = []
    left = quantity
    for candidate in chosen:
        if left == 0:
            break
        take = min(left, candidate.available)
        parts.append(
            PlannedLine(
                variant=variant,
                quantity=take,
                source=candidate.location,
                needs_transfer=destination is not None,
                destination=destination,
                ready_date=candidate.ready_date,
            )
        )
        left -= take
    return parts if left == 0 else None
