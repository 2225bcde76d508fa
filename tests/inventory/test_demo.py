"""The inventory demo: three stores, a warehouse and two lockers with realistic stock; loadable twice."""

import random

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max, Q, Sum

from catalog import demo as catalog_demo
from catalog.models import Variant
from customers import demo as customers_demo
from customers.models import CustomerEvent, EventKind
from inventory import demo as inventory_demo
from inventory.models import (
    CycleCount,
    CycleCountStatus,
    Location,
    LocationKind,
    LowStockAlert,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from inventory.selectors import location_list_for_user

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Location, StockLevel, StockMovement, Transfer, CycleCount, LowStockAlert, get_user_model())
    }


def stock() -> dict[tuple[int, int], tuple[int, int]]:
    return {(lvl.location_id, lvl.variant_id): (lvl.on_hand, lvl.reserved) for lvl in StockLevel.objects.all()}


def load_all() -> dict[str, int]:
    catalog_demo.load()
    customers_demo.load()
    return inventory_demo.load()


# The demo catalogue takes seconds to load: one test loads it and checks everything the demo is for.
def test_inventory_demo_is_idempotent_and_realistic() -> None:
    created = load_all()
    first, first_stock = counts(), stock()

    again = load_all()

    # Idempotent: the second run reports and creates nothing, and moves no stock.
    assert all(created.values()), created
    assert set(again.values()) == {0}, again
    assert counts() == first
    assert stock() == first_stock

    # Six locations of the right kinds, with the codes the customer demo's store visits use.
    locations = {location.code: location for location in Location.objects.all()}
    kinds = {code: location.kind for code, location in locations.items()}
    assert kinds == {
        "MAD-CENTRO": LocationKind.STORE,
        "BCN-PORTAL-ANGEL": LocationKind.STORE,
        "VLC-COLON": LocationKind.STORE,
        "ALM-GETAFE": LocationKind.WAREHOUSE,
        "LOCKER-ATOCHA": LocationKind.LOCKER,
        "LOCKER-SANTS": LocationKind.LOCKER,
    }
    warehouse = locations["ALM-GETAFE"]
    assert warehouse.can_ship
    assert not warehouse.is_pickup_point
    stores_and_lockers = [location for location in locations.values() if location != warehouse]
    assert all(location.is_pickup_point and not location.can_ship for location in stores_and_lockers)
    assert all(location.latitude and location.longitude and location.address for location in locations.values())
    visited = set(CustomerEvent.objects.filter(kind=EventKind.STORE_VISIT).values_list("location_code", flat=True))
    assert {"MAD-CENTRO", "BCN-PORTAL-ANGEL", "VLC-COLON"} <= visited

    # Ledger: every level is explained by its movements.
    levels = StockLevel.objects.annotate(
        ledger_on_hand=Sum("movements__on_hand_delta"), ledger_reserved=Sum("movements__reserved_delta")
    )
    assert not levels.exclude(on_hand=F("ledger_on_hand"), reserved=F("ledger_reserved")).exists()

    # Realistic stock: the warehouse holds most SKUs in quantity, stores a part of them in a few
    # units, many SKUs are in the warehouse only, lockers hold nothing.
    variants = Variant.objects.filter(product__is_active=True, is_active=True).count()
    held = dict(
        Location.objects.annotate(skus=Count("stock", filter=Q(stock__on_hand__gt=0))).values_list("code", "skus")
    )
    assert held["ALM-GETAFE"] >= 0.8 * variants
    for code in ("MAD-CENTRO", "BCN-PORTAL-ANGEL", "VLC-COLON"):
        assert 0.1 * variants <= held[code] <= 0.5 * variants, code
    assert held["LOCKER-ATOCHA"] == held["LOCKER-SANTS"] == 0
    largest = dict(Location.objects.annotate(most=Max("stock__on_hand")).values_list("code", "most"))
    assert largest["ALM-GETAFE"] >= 40
    assert largest["MAD-CENTRO"] <= 6
    in_stores = StockLevel.objects.filter(location__kind=LocationKind.STORE, on_hand__gt=0)
    warehouse_only = StockLevel.objects.filter(location=warehouse, on_hand__gt=0).exclude(
        variant__in=in_stores.values("variant")
    )
    assert warehouse_only.count() >= 0.1 * variants
    sold_out = Variant.objects.filter(product__is_active=True).exclude(stock__on_hand__gt=0)
    assert sold_out.exists()
    assert StockLevel.objects.filter(location__kind=LocationKind.STORE, available=0).exists()

    # Staff have work: open low-stock alerts in stores, a transfer requested and one on its way, a count.
    alerts = LowStockAlert.objects.filter(resolved_at=None)
    assert alerts.filter(stock_level__location__kind=LocationKind.STORE).count() >= 2
    assert all(alert.available < alert.threshold for alert in alerts)
    assert set(Transfer.objects.values_list("status", flat=True)) == {
        TransferStatus.REQUESTED,
        TransferStatus.IN_TRANSIT,
    }
    assert CycleCount.objects.filter(status=CycleCountStatus.OPEN).exists()

    # A store employee bound to Madrid Gran Vía, and a manager who sees every location.
    users = get_user_model().objects
    staff = users.get(username="tienda.madrid")
    manager = users.get(username="encargado")
    assert staff.is_staff
    assert staff.check_password("tienda")
    assert not staff.is_superuser
    assert manager.is_staff
    assert manager.check_password("encargado")
    assert not manager.is_superuser
    assert list(location_list_for_user(user=staff).values_list("code", flat=True)) == ["MAD-CENTRO"]
    assert staff.has_perm("inventory.change_stocklevel")
    assert staff.has_perm("inventory.view_stockmovement")
    assert not staff.has_perm("inventory.manage_all_locations")
    assert staff.groups.filter(name="Personal de tienda").exists()
    assert manager.groups.filter(name="Encargados").exists()
    assert manager.has_perm("inventory.manage_all_locations")
    assert location_list_for_user(user=manager).count() == 6

    # Deterministic: what was received is what the seeded plan says, line for line.
    plan = inventory_demo.stock_plan(inventory_demo._demo_variants(), random.Random(inventory_demo.SEED))
    for code, lines in plan.receipts.items():
        received = StockMovement.objects.filter(location__code=code, reference__startswith="DEMO-ALBARAN-")
        assert sorted(received.values_list("variant_id", "on_hand_delta")) == sorted(
            (variant.pk, quantity) for variant, quantity in lines
        ), code
