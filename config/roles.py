"""Staff roles are code, not data: each app declares what each role may do with its models.

An app's `roles.py` holds `ROLE_PERMISSIONS = {Role.STORE_STAFF: ("view_order", ...), ...}`
(codenames of that app's own permissions). `manage.py roles_sync` gathers every app's
declarations and makes each role's group hold exactly those permissions: added when new,
taken away when no longer declared. The demo and the tests use the same groups, so what a
store employee may do in the admin and through the API is written in one place.

Where staff may act (their locations) is separate: `Location.staff` in inventory.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from types import ModuleType

from django.contrib.auth.models import Group, Permission
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from config.discovery import project_app_modules
from config.transactions import use_case


class Role(models.TextChoices):
    """The value is the group's name: stable, whatever the language of the admin."""

    STORE_STAFF = "Store staff", _("Store staff")
    STORE_MANAGER = "Store manager", _("Store manager")
    WAREHOUSE = "Warehouse staff", _("Warehouse staff")
    AGENT = "Customer service agent", _("Customer service agent")
    TEAM_LEAD = "Customer service team lead", _("Customer service team lead")
    ACCOUNTANT = "Accountant", _("Accountant")
    MANAGER = "Manager", _("Manager")


def role_modules() -> list[ModuleType]:
    """Each project app's `roles` module (config's own included)."""
    return project_app_modules("roles")


def role_permissions() -> dict[str, set[tuple[str, str]]]:
    """Every role's (app label, codename) pairs, from every app's declaration."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for module in role_modules():
        label = module.__name__.rsplit(".", 1)[0]
        declared: Mapping[str, Iterable[str]] = module.ROLE_PERMISSIONS
        for role, codenames in declared.items():
            found[str(role)].update((label, codename) for codename in codenames)
    return found


class UnknownPermission(Exception):
    """A role names a permission no model has: a typo would otherwise grant nothing, silently."""


@use_case
def roles_sync() -> dict[str, int]:
    """Create or update one group per role with exactly its declared permissions: {role: count}."""
    declared = role_permissions()
    unknown_roles = sorted(set(declared) - set(Role.values))
    if unknown_roles:
        raise UnknownPermission(f"Permissions declared for roles that do not exist: {', '.join(unknown_roles)}.")
    wanted = {pair for pairs in declared.values() for pair in pairs}
    by_key = {
        (app_label, codename): pk
        for pk, app_label, codename in Permission.objects.values_list("pk", "content_type__app_label", "codename")
    }
    missing = sorted(f"{app}.{codename}" for app, codename in wanted if (app, codename) not in by_key)
    if missing:
        raise UnknownPermission(f"Roles name permissions that do not exist: {', '.join(missing)}.")
    synced = {}
    for role in Role:
        group, _created = Group.objects.get_or_create(name=role.value)
        ids = sorted(by_key[pair] for pair in declared.get(role.value, set()))
        group.permissions.set(ids)
        synced[role.value] = len(ids)
    return synced


def role_group(role: Role) -> Group:
    """The role's group, synced first if it is not there yet.

    A lookup, not a use case: callers (tests, the demo, other services) may already be inside a
    transaction, where the use case would refuse to run. The sync runs as a step in the caller's
    transaction (a savepoint), or in one of its own when there is none.
    """
    group = Group.objects.filter(name=role.value).first()
    if group is None:
        with transaction.atomic():
            roles_sync.step()
        group = Group.objects.get(name=role.value)
    return group


# The platform's own models. Credentials are created by superusers; managers see them and
# replay what was owed to another system.
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.MANAGER: (
        "view_channelclient",
        "view_webhooksubscription",
        "view_outboxmessage",
        "change_outboxmessage",
    ),
}
