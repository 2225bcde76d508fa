"""Staff roles are code: every app declares them, `roles_sync` makes the groups hold exactly that."""

from io import StringIO
from types import ModuleType
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.db import transaction

from config import roles
from config.roles import Role, UnknownPermission, role_group, role_permissions, roles_sync

pytestmark = pytest.mark.django_db


def group_perms(role: Role) -> set[str]:
    group = Group.objects.get(name=role.value)
    return {
        f"{app}.{codename}" for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_roles_sync_creates_one_group_per_role() -> None:
    roles_sync()
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_each_role_holds_what_the_apps_declare() -> None:
    roles_sync()
    assert "orders.hand_over_order" in group_perms(Role.STORE_STAFF)
    assert "orders.cancel_order" not in group_perms(Role.STORE_STAFF)
    assert "orders.cancel_order" in group_perms(Role.STORE_MANAGER)
    assert "invoicing.export_invoices" in group_perms(Role.ACCOUNTANT)
    assert "customers.export_customer" in group_perms(Role.TEAM_LEAD)
    assert "customers.export_customer" not in group_perms(Role.AGENT)
    assert "inventory.manage_all_locations" in group_perms(Role.MANAGER)


def test_store_staff_get_no_customer_or_invoice_permission() -> None:
    roles_sync()
    perms = group_perms(Role.STORE_STAFF)
    assert not {perm for perm in perms if perm.startswith(("customers.", "invoicing."))}


def test_roles_sync_takes_away_what_is_no_longer_declared() -> None:
    roles_sync()
    group = Group.objects.get(name=Role.STORE_STAFF.value)
    group.permissions.add(Permission.objects.get(codename="export_invoices"))

    roles_sync()

    assert "invoicing.export_invoices" not in group_perms(Role.STORE_STAFF)


def test_roles_sync_is_idempotent() -> None:
    first = roles_sync()
    assert roles_sync() == first
    assert Group.objects.filter(name__in=Role.values).count() == len(Role)


def test_a_role_naming_a_missing_permission_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    typo = ModuleType("orders.roles")
    typo.ROLE_PERMISSIONS = {Role.STORE_STAFF: ("hand_over_ordr",)}  # type: ignore[attr-defined]
    monkeypatch.setattr(roles, "role_modules", lambda: [typo])

    with pytest.raises(UnknownPermission, match=r"orders\.hand_over_ordr"):
        roles_sync()
    assert not Group.objects.filter(name=Role.STORE_STAFF.value).exists()


def test_the_command_reports_each_role(capsys: Any) -> None:
    out = StringIO()
    call_command("roles_sync", stdout=out)
    assert all(f"{role.value}:" in out.getvalue() for role in Role)


def test_the_command_fails_loudly_on_a_bad_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    typo = ModuleType("orders.roles")
    typo.ROLE_PERMISSIONS = {"Cashier": ("view_order",)}  # type: ignore[attr-defined]
    monkeypatch.setattr(roles, "role_modules", lambda: [typo])
    with pytest.raises(CommandError, match="Cashier"):
        call_command("roles_sync", stdout=StringIO())


def test_every_domain_app_declares_its_roles() -> None:
    declared_by = {module.__name__.rsplit(".", 1)[0] for module in roles.role_modules()}
    assert declared_by >= {"config", "catalog", "customers", "inventory", "invoicing", "orders"}
    assert set(role_permissions()) <= set(Role.values)


def test_role_group_syncs_the_roles_when_its_group_is_missing() -> None:
    group = role_group(Role.STORE_STAFF)

    assert group.name == Role.STORE_STAFF.value
    assert "orders.hand_over_order" in group_perms(Role.STORE_STAFF)


def test_role_group_works_inside_the_callers_transaction() -> None:
    # Factories and services call it inside a transaction, where a use case refuses to run.
    with transaction.atomic():
        group = role_group(Role.ACCOUNTANT)

        assert "invoicing.export_invoices" in group_perms(Role.ACCOUNTANT)
    assert group.pk == Group.objects.get(name=Role.ACCOUNTANT.value).pk


def test_role_group_leaves_an_existing_group_as_it_is() -> None:
    existing = Group.objects.create(name=Role.WAREHOUSE.value)

    assert role_group(Role.WAREHOUSE) == existing
    assert not existing.permissions.exists()  # a lookup: roles_sync is what syncs
