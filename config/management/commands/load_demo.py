"""`load_demo`: every app's demo data, lowest layer first; idempotent."""

from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import gettext as _

from config.demo import ADMIN_PASSWORD, ADMIN_USERNAME, CHANNEL_CLIENTS


def demo_modules() -> list[Any]:
    """Each project app's `demo` module, in INSTALLED_APPS order (the layers, lowest first).

    Found by name, as Django's admin finds admin modules: config names no domain app.
    """
    modules = []
    for app in apps.get_app_configs():
        if not (settings.BASE_DIR / app.name.replace(".", "/")).is_dir():
            continue
        try:
            modules.append(import_module(f"{app.name}.demo"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.demo":
                raise
    return modules


class Command(BaseCommand):
    help = "Load demo data for every app: catalogue, customers and more. Safe to run again."
    requires_migrations_checks = True

    def handle(self, *args: Any, **options: Any) -> None:
        created: dict[str, int] = {}
        with transaction.atomic():
            for module in demo_modules():
                created |= module.load()
        summary = ", ".join(f"{label}: {number}" for label, number in created.items())
        self.stdout.write(_("Demo data created (%(summary)s).") % {"summary": summary})
        self.stdout.write(
            _("Admin: %(url)s  user: %(user)s  password: %(password)s")
            % {"url": "http://127.0.0.1:8000/admin/", "user": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        )
        self.stdout.write(
            _("API docs: %(url)s  token for the web shop: %(token)s")
            % {"url": "http://127.0.0.1:8000/api/docs/", "token": CHANNEL_CLIENTS[0][2]}
        )
