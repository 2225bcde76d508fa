"""The permission matrix of the admin: every page by every kind of caller, in one table.

A page of the admin answers (GET):
- `ok`    the page (200)
- `login` a redirect to sign in: nobody, and every channel credential (tokens do not open the admin)
- `gone`  a redirect because the object is not among those this person may see (another store's)
- `403`   signed in, but the page needs a permission this role does not have
- `405`   the page takes no GET (logout is a POST)

The columns are the callers of tests/config/access_world.py; `guest` stands for anon, web, mkt,
lkA and lkB, who must all get the same answer (each is tried). Objects are the world's (an order
picked up at store X, the stock of store X...). A page without a row fails
`test_every_admin_url_has_a_row`.
"""

from functools import partial
from typing import Any

import pytest
from django.apps import apps
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from inventory.models import CycleCount, LowStockAlert, StockLevel, StockMovement, Transfer
from inventory.services import cycle_count_create, low_stock_threshold_set
from tests.config.access_world import ROLES, STAFF_ROLES, World, cell, world_create

pytestmark = pytest.mark.django_db

GUESTS = ("anon", "web", "mkt", "lkA", "lkB")
COLUMNS = ("guest", *STAFF_ROLES)

# fmt: off
MATRIX = """
url name                                          guest stX  stY  wh   agt  acc  mgr  su
"""
# fmt: on


def parse(table: str) -> list[tuple[str, dict[str, str]]]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[2:]) == COLUMNS, header
    parsed = []
    for row in rows:
        name, answers = row[0], row[1:]
        assert len(answers) == len(COLUMNS), row
        by_column = dict(zip(COLUMNS, answers, strict=True))
        parsed.append((name, {role: by_column["guest" if role in GUESTS else role] for role in ROLES}))
    return parsed


ROWS = parse(MATRIX)


def admin_url_names() -> set[str]:
    names: set[str] = set()

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                walk(
                    pattern,
                    prefix + str(pattern.pattern),
                    namespace + (f"{pattern.namespace}:" if pattern.namespace else ""),
                )
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("admin/"):
                names.add(namespace + (pattern.name or ""))

    walk(get_resolver(), "", "")
    return names


def test_every_admin_url_has_a_row() -> None:
    assert admin_url_names() - {name for name, _ in ROWS} == set()


def objects_of(world: World) -> dict[str, Model]:
    """The object each model's pages open: at store X where the model belongs to a location."""
    x = world.store_x
    cycle_count_create(location=x, lines=[(world.shirt, 4)])
    low_stock_threshold_set(location=x, variant=world.shirt, threshold=100)
    chosen: dict[str, Model] = {
        "orders_order": world.orders["pickup_x"],
        "inventory_stocklevel": StockLevel.objects.get(location=x, variant=world.shirt),
        "inventory_stockmovement": StockMovement.objects.filter(location=x).order_by("pk").first(),  # type: ignore[dict-item]
        "inventory_transfer": Transfer.objects.order_by("pk").first(),  # type: ignore[dict-item]
        "inventory_cyclecount": CycleCount.objects.get(location=x),
        "inventory_lowstockalert": LowStockAlert.objects.get(stock_level__location=x),
        "inventory_location": x,
        "customers_customer": world.customers["web"],
        "invoicing_invoice": world.invoices["web"],
        "auth_user": world.users["stX"],
    }
    for model in apps.get_models():
        key = f"{model._meta.app_label}_{model._meta.model_name}"
        if key not in chosen:
            first = model._default_manager.order_by("pk").first()
            if first is not None:
                chosen[key] = first
    return chosen


def url_for(name: str, objects: dict[str, Model]) -> str:
    short = name.removeprefix("admin:")
    if short == "app_list":
        return reverse(name, kwargs={"app_label": "orders"})
    if short == "view_on_site":
        return reverse(name, kwargs={"content_type_id": 1, "object_id": 1})
    if short == "auth_user_password_change":
        return reverse(name, kwargs={"id": objects["auth_user"].pk})
    if short == "invoicing_invoice_download":
        return reverse(name, args=[objects["invoicing_invoice"].pk, "pdf"])
    for suffix in ("_change", "_delete", "_history", "_download"):
        if short.endswith(suffix):
            obj = objects.get(short.removesuffix(suffix))
            return reverse(name, kwargs={"object_id": obj.pk if obj is not None else 999999})
    return reverse(name)


def get(caller: Any, *, url: str) -> Any:
    return caller.get(url)


def test_the_admin_answers_as_the_matrix_says() -> None:
    world = world_create()
    objects = objects_of(world)
    wrong, actual = [], []
    for name, expected in ROWS:
        url = url_for(name, objects)
        got = {role: cell(world, role, partial(get, url=url)) for role in ROLES}
        guests = {got[role] for role in GUESTS}
        actual.append(
            f"{name:<49} {'/'.join(sorted(guests)):<5} " + " ".join(f"{got[role]:<4}" for role in STAFF_ROLES)
        )
        wrong += [
            f"{name} as {role}: expected {expected[role]}, got {got[role]}"
            for role in ROLES
            if got[role] != expected[role]
        ]
    assert wrong == [], "\n" + "\n".join(wrong) + "\n\nThe answers as a table:\n" + "\n".join(actual)


def test_the_matrix_tables_name_only_real_urls() -> None:
    known = admin_url_names()
    assert {name for name, _ in ROWS} - known == set()
