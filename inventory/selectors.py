from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Product, Variant
from config.models import ChannelClient
from inventory.models import Location, LocationKind, StockLevel, StockMovement, TransferLeadTime


def location_list_for_user(*, user: Any) -> QuerySet[Location]:
    """The locations a staff user may see and change: all for managers, their own for store staff."""
    locations = Location.objects.all()
    if user is None or user.is_superuser or user.has_perm("inventory.manage_all_locations"):
        return locations
    return locations.filter(staff=user)


def location_ids_for_user(*, user: Any) -> set[int]:
    return set(location_list_for_user(user=user).values_list("pk", flat=True))


def feed_reference_location_ids(*, client: ChannelClient | None, user: Any) -> set[int]:
    """Where the change feed shows a movement's reference (an order number, a delivery note).

    Every channel reads the feed: another channel's order numbers are not its business, so a
    client sees none. Staff see those of the locations they work at, as in the admin's history.
    """
    return set() if client is not None else location_ids_for_user(user=user)


def user_may_manage_location(*, user: Any, location_id: int) -> bool:
    return location_list_for_user(user=user).filter(pk=location_id).exists()


def location_list_bound_to_client(*, client: ChannelClient) -> QuerySet[Location]:
    """The locations a device or a till is bound to (`Location.channel_clients`): where a locker
    redeems codes and a till fulfils orders. Empty for a client bound nowhere."""
    return Location.objects.filter(channel_clients=client)


def location_ids_bound_to_client(*, client: ChannelClient) -> set[int]:
    """The ids of `location_list_bound_to_client`."""
    return set(location_list_bound_to_client(client=client).values_list("pk", flat=True))


def stock_level_list() -> QuerySet[StockLevel]:
    return StockLevel.objects.select_related("location", "variant__product")


def stock_movement_list() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related("location", "variant", "user")


def product_list_in_stock(queryset: QuerySet[Product], location_code: str | None) -> QuerySet[Product]:
    """Products with a unit available now, at any active location or at the one named."""
    levels = StockLevel.objects.filter(variant__product=OuterRef("pk"), available__gt=0, location__is_active=True)
    if location_code is not None:
        if not Location.objects.filter(code=location_code).exists():
            raise ValidationError(
                {"in_stock_at": [gettext("Unknown location %(code)s.") % {"code": repr(location_code)}]}
            )
        levels = levels.filter(location__code=location_code)
    return queryset.filter(Exists(levels))


def gives_stock(prefix: str = "") -> Q:
    """The locations any order may take units from: active stores and warehouses (sourcing rules 5 and 6).

    A locker hands over, it never supplies: units left in one (a return) wait for staff. Sourcing
    filters stock with it and availability promises a pickup from a location's own units only
    where it holds, so availability never promises what sourcing will not do. `prefix` reaches
    the location through a relation, e.g. "location__" from a stock level.
    """
    return Q(**{f"{prefix}is_active": True, f"{prefix}kind__in": (LocationKind.STORE, LocationKind.WAREHOUSE)})


def transfer_lead_days(*, destination: Location | None = None) -> dict[tuple[int, int], int]:
    """Days a transfer takes, by (source, destination); pairs not listed take the default setting."""
    lead_times = TransferLeadTime.objects.all()
    if destination is not None:
        lead_times = lead_times.filter(destination=destination)
    return {(s, d): days for s, d, days in lead_times.values_list("source_id", "destination_id", "days")}


def lead_days_between(lead_days: dict[tuple[int, int], int], source_id: int, destination_id: int) -> int:
    return lead_days.get((source_id, destination_id), settings.TRANSFER_DEFAULT_LEAD_DAYS)


@dataclass(frozen=True)
class LocationAvailability:
    location: Location
    on_hand: int
    reserved: int
    available: int
    pickup_today: bool
    earliest_pickup: date | None


@dataclass(frozen=True)
class VariantAvailability:
    variant: Variant
    locations: list[LocationAvailability]
    on_hand: int
    reserved: int
    available: int


def variant_availability(*, variants: Sequence[Variant], today: date | None = None) -> list[VariantAvailability]:
    """Stock of each variant at every active location, with pickup dates: a constant number of queries.

    The promise is sourcing's for one unit: a pickup point hands over today from its own units
    only where those may be sold (`gives_stock`: never a locker's); otherwise the earliest pickup
    is the soonest transfer from a location that gives stock and has a unit.
    """
    today = today or timezone.localdate()
    locations = list(
        Location.objects.filter(is_active=True)
        .annotate(gives_stock=ExpressionWrapper(gives_stock(), output_field=BooleanField()))
        .order_by("kind", "code")
    )
    supplying = {location.pk for location in locations if location.gives_stock}
    levels = {
        (level.variant_id, level.location_id): level
        for level in StockLevel.objects.filter(variant__in=variants, location__is_active=True)
    }
    lead_days = transfer_lead_days()
    result = []
    for variant in variants:
        sources = {pk for pk in supplying if (held := levels.get((variant.pk, pk))) is not None and held.available > 0}
        rows = []
        for location in locations:
            level = levels.get((variant.pk, location.pk))
            on_hand, reserved, available = (level.on_hand, level.reserved, level.available) if level else (0, 0, 0)
            pickup_today = location.is_pickup_point and location.pk in sources
            earliest: date | None = None
            if location.is_pickup_point:
                if pickup_today:
                    earliest = today
                else:
                    days = [lead_days_between(lead_days, pk, location.pk) for pk in sources if pk != location.pk]
                    earliest = today + timedelta(days=min(days)) if days else None
            rows.append(LocationAvailability(location, on_hand, reserved, available, pickup_today, earliest))
        result.append(
            VariantAvailability(
                variant=variant,
                locations=rows,
                on_hand=sum(r.on_hand for r in rows),
                reserved=sum(r.reserved for r in rows),
                available=sum(r.available for r in rows),
            )
        )
    return result
