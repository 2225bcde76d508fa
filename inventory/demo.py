"""Demo stock for the embedded default: three stores, a warehouse and two locker banks.

The warehouse in Getafe holds most of the catalogue; each store holds a part of it, a few
units of each; many SKUs are only in the warehouse (stores sell them through transfers) and
a few are sold out everywhere; lockers hold nothing, they are pickup points. Some store
levels have a low-stock threshold, so alerts show; one transfer is requested, another one is
on its way. One person per staff role logs in to the admin (config.roles): a store employee
bound to Madrid Gran Vía, a warehouse employee bound to Getafe, a manager who sees every
location, a customer-service agent and an accountant. The platform demo's till is bound to
Madrid Gran Vía and its locker client to both locker banks.

Stock is written through inventory.services, a few receipts per location with hundreds of
lines each (RECEIPT_LINES), so the ledger explains every unit. Deterministic (a fixed seed,
the catalogue in SKU order) and idempotent: each part looks for what it made last time (a
location code, a receipt reference, a transfer reference, a user name) and is skipped when
found.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from catalog.models import Variant
from config.channels import Channel
from config.demo import CHANNEL_CLIENTS, demo_user_create
from config.models import ChannelClient
from config.roles import Role, role_group
from inventory.models import (
    CycleCount,
    Location,
    LocationKind,
    LowStockAlert,
    MovementKind,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLeadTime,
)
from inventory.services import (
    cycle_count_create,
    low_stock_threshold_set,
    stock_adjust,
    stock_receive,
    transfer_request,
    transfer_ship,
)

SEED = 20261125
WAREHOUSE = "ALM-GETAFE"
# A second, smaller warehouse that ships what Getafe lacks: a ship order may leave from both (parcels).
WAREHOUSE_BCN = "ALM-ZONA-FRANCA"
MADRID = "MAD-CENTRO"
BARCELONA = "BCN-PORTAL-ANGEL"
VALENCIA = "VLC-COLON"
LOCKER_ATOCHA = "LOCKER-ATOCHA"
LOCKER_SANTS = "LOCKER-SANTS"
RECEIPT_REFERENCE = "DEMO-ALBARAN-{code}-{number}"
# Lines per delivery note: the warehouse's whole range (about 1,200 lines) on one note, which
# the embedded-default smoke test then proves the services handle on SQLite.
RECEIPT_LINES = 1500
TRANSFER_IN_TRANSIT = "DEMO-REPOSICION-MAD-1"
TRANSFER_REQUESTED = "DEMO-REPOSICION-BCN-1"
ADJUSTMENT_REASON = "Rotura: caja dañada al reponer el lineal"
ELECTRONICS = "electronica"


@dataclass(frozen=True)
class LocationSpec:
    code: str
    name: str
    kind: str
    address: str
    city: str
    latitude: str
    longitude: str
    can_ship: bool
    is_pickup_point: bool
    store_share: float = 0.0  # a store holds this share of the warehouse's SKUs


LOCATIONS = (
    LocationSpec(
        WAREHOUSE,
        "Almacén central Getafe",
        LocationKind.WAREHOUSE,
        "Calle de la Confianza, 4, Polígono Los Olivos",
        "Getafe",
        "40.305210",
        "-3.722580",
        can_ship=True,
        is_pickup_point=False,
    ),
    LocationSpec(
        WAREHOUSE_BCN,
        "Almacén Barcelona Zona Franca",
        LocationKind.WAREHOUSE,
        "Carrer 60, 19, Zona Franca",
        "Barcelona",
        "41.340520",
        "2.136210",
        can_ship=True,
        is_pickup_point=False,
    ),
    LocationSpec(
        MADRID,
        "Tienda Madrid Gran Vía",
        LocationKind.STORE,
        "Gran Vía, 32",
        "Madrid",
        "40.420120",
        "-3.705020",
        can_ship=False,
        is_pickup_point=True,
        store_share=0.32,
    ),
    LocationSpec(
        BARCELONA,
        "Tienda Barcelona Portal de l'Àngel",
        LocationKind.STORE,
        "Avinguda del Portal de l'Àngel, 19",
        "Barcelona",
        "41.386050",
        "2.172430",
        can_ship=False,
        is_pickup_point=True,
        store_share=0.25,
    ),
    LocationSpec(
        VALENCIA,
        "Tienda Valencia Colón",
        LocationKind.STORE,
        "Carrer de Colón, 27",
        "Valencia",
        "39.470240",
        "-0.372010",
        can_ship=False,
        is_pickup_point=True,
        store_share=0.18,
    ),
    LocationSpec(
        LOCKER_ATOCHA,
        "Taquillas Estación de Atocha",
        LocationKind.LOCKER,
        "Plaza del Emperador Carlos V, s/n",
        "Madrid",
        "40.406620",
        "-3.689170",
        can_ship=False,
        is_pickup_point=True,
    ),
    LocationSpec(
        LOCKER_SANTS,
        "Taquillas Estació de Sants",
        LocationKind.LOCKER,
        "Plaça dels Països Catalans, 1",
        "Barcelona",
        "41.379310",
        "2.140420",
        can_ship=False,
        is_pickup_point=True,
    ),
)

# Goods from Getafe reach Barcelona and Valencia in two days; everything else takes the default.
LEAD_TIMES = ((WAREHOUSE, BARCELONA, 2), (WAREHOUSE, VALENCIA, 2), (WAREHOUSE, LOCKER_SANTS, 2))

WAREHOUSE_SHARE = 0.88  # of the rest, half is in the Zona Franca warehouse, half sold out everywhere
LOW_STOCK_THRESHOLD = 3


@dataclass(frozen=True)
class StaffSpec:
    username: str
    password: str  # the embedded default's demo login, printed on purpose; random anywhere else
    first_name: str
    last_name: str
    role: Role
    locations: tuple[str, ...] = ()


# One person per role the demo shows; store and warehouse staff work where they are bound.
STAFF = (
    StaffSpec("tienda.madrid", "tienda", "Lucía", "Navarro", Role.STORE_STAFF, (MADRID,)),
    StaffSpec("encargado", "encargado", "Javier", "Romero", Role.MANAGER),
    StaffSpec("almacen", "almacen", "Marta", "Gil", Role.WAREHOUSE, (WAREHOUSE,)),
    StaffSpec("atencion", "atencion", "Sergio", "Ortega", Role.AGENT),
    StaffSpec("contable", "contable", "Elena", "Prieto", Role.ACCOUNTANT),
)
# Logins whose password is public: config.security refuses to start production with them.
KNOWN_LOGINS = tuple((spec.username, spec.password) for spec in STAFF)

# The platform demo's till works at Madrid Gran Vía; its locker client at both locker banks.
DEMO_CLIENT_NAMES = {channel: name for name, channel, _token in CHANNEL_CLIENTS}
BINDINGS = (
    (Channel.STORE, (MADRID,)),
    (Channel.LOCKER, (LOCKER_ATOCHA, LOCKER_SANTS)),
)


@dataclass(frozen=True)
class StockPlan:
    """Units to receive, by location code, as (variant, quantity) in SKU order."""

    receipts: dict[str, list[tuple[Variant, int]]]


def stock_plan(variants: list[Variant], rng: random.Random) -> StockPlan:
    """Most SKUs in the warehouse, in quantity; a part of them in each store, a few units each."""
    receipts: dict[str, list[tuple[Variant, int]]] = {spec.code: [] for spec in LOCATIONS}
    stores = [spec for spec in LOCATIONS if spec.store_share]
    not_in_getafe = 0
    for variant in variants:
        electronics = variant.product.category.slug.startswith(ELECTRONICS)
        # Every draw is made for every variant, so one SKU's luck does not shift the next one's.
        in_warehouse = rng.random() < WAREHOUSE_SHARE
        warehouse_quantity = rng.randint(3, 25) if electronics else rng.randint(8, 60)
        store_draws = [(rng.random(), rng.randint(1, 3) if electronics else rng.randint(1, 6)) for _spec in stores]
        if not in_warehouse:
            # Every other SKU Getafe lacks is in the Zona Franca warehouse; the rest is sold out everywhere.
            not_in_getafe += 1
            if not_in_getafe % 2 == 0:
                receipts[WAREHOUSE_BCN].append((variant, warehouse_quantity))
            continue
        receipts[WAREHOUSE].append((variant, warehouse_quantity))
        for spec, (draw, quantity) in zip(stores, store_draws, strict=True):
            if draw < spec.store_share:
                receipts[spec.code].append((variant, quantity))
    return StockPlan(receipts=receipts)


def _locations_load() -> dict[str, Location]:
    locations = {}
    for spec in LOCATIONS:
        locations[spec.code], _created = Location.objects.get_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "kind": spec.kind,
                "address": spec.address,
                "city": spec.city,
                "country": "ES",
                "latitude": Decimal(spec.latitude),
                "longitude": Decimal(spec.longitude),
                "can_ship": spec.can_ship,
                "is_pickup_point": spec.is_pickup_point,
            },
        )
    for source, destination, days in LEAD_TIMES:
        TransferLeadTime.objects.get_or_create(
            source=locations[source], destination=locations[destination], defaults={"days": days}
        )
    return locations


def _receipts_load(locations: dict[str, Location], plan: StockPlan) -> None:
    for code, lines in plan.receipts.items():
        for number, start in enumerate(range(0, len(lines), RECEIPT_LINES), start=1):
            reference = RECEIPT_REFERENCE.format(code=code, number=number)
            if StockMovement.objects.filter(location=locations[code], reference=reference).exists():
                continue
            stock_receive(location=locations[code], lines=lines[start : start + RECEIPT_LINES], reference=reference)


def _spread(variants: list[Variant], count: int) -> list[Variant]:
    """`count` variants evenly spaced in SKU order: electronics and fashion alike."""
    return variants[:: max(1, len(variants) // count)][:count]


def _thresholds_load(locations: dict[str, Location], plan: StockPlan) -> None:
    """A few store levels get a threshold: the ones with one or two units left raise an alert."""
    for code in (MADRID, BARCELONA):
        lines = plan.receipts[code]
        low = _spread([variant for variant, quantity in lines if quantity < LOW_STOCK_THRESHOLD], 3)
        healthy = _spread([variant for variant, quantity in lines if quantity > LOW_STOCK_THRESHOLD + 2], 3)
        thresholds = dict(
            StockLevel.objects.filter(location=locations[code], variant__in=low + healthy).values_list(
                "variant_id", "low_stock_threshold"
            )
        )
        for variant in low + healthy:
            if thresholds.get(variant.pk) is None:
                low_stock_threshold_set(location=locations[code], variant=variant, threshold=LOW_STOCK_THRESHOLD)


def _transfer_lines(plan: StockPlan, destination: str, count: int) -> list[tuple[Variant, int]]:
    """SKUs the warehouse holds and the destination does not: the endless aisle."""
    there = {variant.pk for variant, _quantity in plan.receipts[destination]}
    lines = [(variant, 2 if quantity > 20 else 1) for variant, quantity in plan.receipts[WAREHOUSE]]
    return [(variant, quantity) for variant, quantity in lines if variant.pk not in there][:count]


def _transfers_load(locations: dict[str, Location], plan: StockPlan) -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)
    if not Transfer.objects.filter(reference=TRANSFER_IN_TRANSIT).exists():
        transfer = transfer_request(
            source=locations[WAREHOUSE],
            destination=locations[MADRID],
            lines=_transfer_lines(plan, MADRID, 4),
            reference=TRANSFER_IN_TRANSIT,
            expected_at=tomorrow,
        )
        transfer_ship(transfer=transfer)
    if not Transfer.objects.filter(reference=TRANSFER_REQUESTED).exists():
        transfer_request(
            source=locations[WAREHOUSE],
            destination=locations[BARCELONA],
            lines=_transfer_lines(plan, BARCELONA, 3),
            reference=TRANSFER_REQUESTED,
            expected_at=tomorrow + timedelta(days=1),
        )


def _adjustments_load(locations: dict[str, Location], plan: StockPlan) -> None:
    """A box broken in Madrid: the last unit of a SKU written off, so the store is out of it."""
    madrid = locations[MADRID]
    if StockMovement.objects.filter(location=madrid, kind=MovementKind.ADJUSTMENT, reason=ADJUSTMENT_REASON).exists():
        return
    variant = next(variant for variant, quantity in reversed(plan.receipts[MADRID]) if quantity == 1)
    stock_adjust(location=madrid, variant=variant, quantity=-1, reason=ADJUSTMENT_REASON)


def _counts_load(locations: dict[str, Location], plan: StockPlan) -> None:
    """An open count in Valencia, one unit short on a shelf: staff apply it from the admin."""
    valencia = locations[VALENCIA]
    if CycleCount.objects.filter(location=valencia).exists():
        return
    lines = plan.receipts[VALENCIA][:5]
    if not lines:
        return
    counted = list(lines)
    variant, quantity = counted[-1]
    counted[-1] = (variant, quantity - 1)
    cycle_count_create(location=valencia, lines=counted)


def _users_load(locations: dict[str, Location]) -> int:
    """One person per role, in the role's group (config.roles); store and warehouse staff bound
    to their location. The password is the known one only in the embedded default."""
    users = get_user_model().objects
    created = 0
    for spec in STAFF:
        if users.filter(username=spec.username).exists():
            continue
        # The project's user model (django.contrib.auth's); the helper is typed for any.
        user = cast(
            User,
            demo_user_create(
                username=spec.username,
                password=spec.password,
                first_name=spec.first_name,
                last_name=spec.last_name,
                email=f"{spec.username}@example.com",
                is_staff=True,
            ),
        )
        user.groups.add(role_group(spec.role))
        for code in spec.locations:
            locations[code].staff.add(user)
        created += 1
    return created


def _bindings_load(locations: dict[str, Location]) -> int:
    """Bind the platform demo's till and locker client to where they work; bindings made."""
    made = 0
    for channel, codes in BINDINGS:
        client = ChannelClient.objects.filter(name=DEMO_CLIENT_NAMES[channel]).first()
        if client is None:  # the platform demo did not run (or the client was renamed)
            continue
        bound = set(client.locations.values_list("code", flat=True))
        for code in codes:
            if code not in bound:
                locations[code].channel_clients.add(client)
                made += 1
    return made


def _demo_variants() -> list[Variant]:
    return list(
        Variant.objects.filter(product__is_active=True, is_active=True)
        .select_related("product__category")
        .only("pk", "sku", "product__category__slug")
        .order_by("sku")
    )


# What load() reports, counted before and after: the services create the rows.
COUNTED = (
    (Location, gettext_noop("locations")),
    (StockLevel, gettext_noop("stock levels")),
    (StockMovement, gettext_noop("stock movements")),
    (Transfer, gettext_noop("transfers")),
    (CycleCount, gettext_noop("cycle counts")),
    (LowStockAlert, gettext_noop("low-stock alerts")),
)


def load() -> dict[str, int]:
    """Load the demo stock; returns what was created, by label."""
    before = [model._default_manager.count() for model, _label in COUNTED]
    locations = _locations_load()
    plan = stock_plan(_demo_variants(), random.Random(SEED))
    _receipts_load(locations, plan)
    _thresholds_load(locations, plan)
    _transfers_load(locations, plan)
    _adjustments_load(locations, plan)
    _counts_load(locations, plan)
    created = {
        _(label): model._default_manager.count() - count for (model, label), count in zip(COUNTED, before, strict=True)
    }
    return created | {
        _("inventory staff users"): _users_load(locations),
        _("devices and tills bound to locations"): _bindings_load(locations),
    }
