"""Use cases (config.transactions): each runs in its own durable transaction, and nesting one fails loudly.

The last test walks the callers outside the domain (API views, admin, tasks, management
commands) and checks that every service they call is a use case: a new admin action calling
a plain function fails here instead of running in whatever transaction it happens to find.
"""

import ast
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from config.channels import Channel
from config.transactions import UseCase, use_case
from customers.models import Customer

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "catalog", "customers", "inventory", "invoicing", "orders")

pytestmark = pytest.mark.django_db


@use_case
def customer_named(*, name: str) -> Customer:
    return Customer.objects.create(name=name, first_seen_channel=Channel.WEB)


@use_case
def customers_named(*, names: list[str], as_steps: bool = True) -> list[Customer]:
    create = customer_named.step if as_steps else customer_named
    return [create(name=name) for name in names]


@use_case
def customer_named_then_refused(*, name: str) -> None:
    customer_named.step(name=name)
    raise ValueError("refused after the write")


def test_a_use_case_commits_what_it_writes() -> None:
    customer = customer_named(name="Ana")

    assert Customer.objects.filter(pk=customer.pk, name="Ana").exists()


def test_a_use_case_inside_another_use_case_raises_and_writes_nothing() -> None:
    with pytest.raises(RuntimeError, match="durable"):
        customers_named(names=["Ana", "Bruno"], as_steps=False)

    assert not Customer.objects.filter(name__in=["Ana", "Bruno"]).exists()


def test_a_use_case_inside_a_transaction_opened_by_its_caller_raises() -> None:
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        customer_named(name="Ana")

    assert not Customer.objects.filter(name="Ana").exists()


def test_a_use_cases_step_runs_in_the_callers_transaction() -> None:
    customers = customers_named(names=["Ana", "Bruno"])

    assert sorted(c.name for c in customers) == ["Ana", "Bruno"]


def test_a_refusal_rolls_back_the_steps_already_taken() -> None:
    with pytest.raises(ValueError, match="refused"):
        customer_named_then_refused(name="Ana")

    assert not Customer.objects.filter(name="Ana").exists()


def test_a_savepoint_is_not_a_transaction_a_use_case_refuses() -> None:
    savepoint = transaction.savepoint_create()  # what the permission matrices roll each cell back with
    customer_named(name="Ana")
    transaction.savepoint_rollback(savepoint)

    assert not Customer.objects.filter(name="Ana").exists()


# --- Every service called from outside the domain is a use case ---------------------------------

# Where the callers outside the domain live.
ENTRY_MODULES = ("api/*.py", "admin.py", "admin/*.py", "tasks.py", "management/commands/*.py", "views.py")
# Modules that hold writes (services). Selectors, models and the like are reads.
SERVICE_MODULES = (".services", ".imports", ".alerts", ".feed", ".roles", ".outbox", ".delivery")
# Functions of those modules that the callers may call outside a use case, and why.
NOT_USE_CASES = {
    # Reads and pure computations: no transaction to open.
    "customers.services.privacy.customer_export": "reads a customer's data",
    "customers.services.loyalty.loyalty_points_value": "a computation",
    "inventory.feed.stock_changes_after": "reads the feed",
    "inventory.feed.FeedCursor": "a value",
    "config.roles.role_permissions": "reads the declared roles",
    # Batches: a durable transaction per item, or the outbox's claim, send and settle (no
    # transaction is open while it sends), or only tasks enqueued.
    "inventory.feed.stock_changes_dispatch": "a durable transaction per subscription",
    "orders.services.fulfilment.orders_transfers_settle_due": "a use case per order (order_transfers_settle)",
    "config.outbox.machinery.outbox_send": "claims, sends outside any transaction, settles",
    "config.outbox.machinery.outbox_sweep": "enqueues tasks",
    "invoicing.delivery.invoice_process": "renders outside any transaction, stores, then the outbox sends",
    "invoicing.delivery.invoices_sweep": "enqueues tasks",
}


def _entry_files() -> Iterator[Path]:
    for app in APPS:
        for pattern in ENTRY_MODULES:
            yield from sorted((ROOT / app).glob(pattern))


def _resolve(dotted: str) -> Any:
    """The object a dotted name imported by an entry module stands for (module attribute chain)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute, None)
        return found
    return None


def _called_services(path: Path) -> set[str]:
    """Every function of a service module this entry module refers to (called or passed on)."""
    tree = ast.parse(path.read_text())
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in APPS:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in imported:
            names.add(imported[node.id])
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported:
            names.add(f"{imported[node.value.id]}.{node.attr}")
    found = set()
    for name in names:
        target = _resolve(name)
        if isinstance(target, UseCase):
            target = target.step
        if not inspect.isfunction(target):
            continue
        module = target.__module__
        if module.split(".")[0] in APPS and any(part in f".{module}" for part in SERVICE_MODULES):
            found.add(f"{module}.{target.__qualname__}")
    return found


def _use_case_names() -> set[str]:
    """Qualified names of every use case the entry modules can reach."""
    names = set()
    for path in _entry_files():
        for name in _called_services(path):
            module, _dot, qualname = name.rpartition(".")
            if isinstance(getattr(importlib.import_module(module), qualname, None), UseCase):
                names.add(name)
    return names


def test_every_service_called_from_outside_the_domain_is_a_use_case() -> None:
    plain = {
        f"{name} <- {path.relative_to(ROOT)}"
        for path in _entry_files()
        for name in _called_services(path)
        if name not in NOT_USE_CASES
        and not isinstance(getattr(importlib.import_module(name.rpartition(".")[0]), name.rpartition(".")[2]), UseCase)
    }

    assert plain == set(), "Decorate these services with config.transactions.use_case (or list why not)"


def test_the_walk_finds_the_use_cases_it_checks() -> None:
    # The walk above would pass on finding nothing: it must see the services it is about.
    assert {"orders.services.placing.order_place", "inventory.services.stock_adjust"} <= _use_case_names()
