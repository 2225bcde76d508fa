from typing import Any

from django.core.management.base import BaseCommand, CommandError

from config.roles import UnknownPermission, roles_sync


class Command(BaseCommand):
    help = "Create or update the staff role groups with exactly the permissions each app declares."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            synced = roles_sync()
        except UnknownPermission as exc:
            raise CommandError(str(exc)) from exc
        for role, count in synced.items():
            self.stdout.write(f"{role}: {count}")
