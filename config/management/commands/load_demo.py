"""`load_demo`: every app's demo data, lowest layer first; idempotent."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from config import demo
from config.roles import roles_sync


class Command(BaseCommand):
    help = "Load demo data for every app: catalogue, customers and more. Safe to run again."
    requires_migrations_checks = True

    def handle(self, *args: Any, **options: Any) -> None:
        created: dict[str, int] = {}
        demo.credentials_created.clear()
        # No transaction around the whole: each app's demo goes through its services, and each
        # service call is a use case that commits on its own (config.transactions: one use case
        # may not run inside another's transaction). A run cut short keeps what it loaded; each
        # demo skips what it finds already loaded when the command runs again.
        roles_sync()  # the staff roles the demo's people are given
        for module in demo.demo_modules():
            created |= module.load()
        summary = ", ".join(f"{label}: {number}" for label, number in created.items())
        self.stdout.write(_("Demo data created (%(summary)s).") % {"summary": summary})
        self.stdout.write(
            _("Admin: %(url)s  user: %(user)s") % {"url": "http://127.0.0.1:8000/admin/", "user": demo.ADMIN_USERNAME}
        )
        self.stdout.write(_("API docs: %(url)s") % {"url": "http://127.0.0.1:8000/api/docs/"})
        if demo.credentials_created and not settings.DEMO_KNOWN_CREDENTIALS:
            self.stdout.write(_("Random credentials, shown only now (this is not the embedded default):"))
        for label, secret in demo.credentials_created:
            self.stdout.write(f"  {label}: {secret}")
        if settings.DEMO_KNOWN_CREDENTIALS:
            self.stdout.write(
                _("Known demo credentials: admin / %(password)s, web shop token %(token)s")
                % {"password": demo.ADMIN_PASSWORD, "token": demo.CHANNEL_CLIENTS[0][2]}
            )
