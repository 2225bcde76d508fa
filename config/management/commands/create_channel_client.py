from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.channels import Channel
from config.exceptions import ApplicationError
from config.services import channel_client_create


class Command(BaseCommand):
    help = "Create an API credential for a channel integration and print its token (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, choices=Channel.values)
        parser.add_argument("--name", required=True)
        parser.add_argument("--throttle-rate", default="", help="e.g. 600/min; empty for the default")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client, token = channel_client_create(
                name=options["name"], channel=options["channel"], throttle_rate=options["throttle_rate"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"Created {client}. Keep this token: it is not shown again.")
        self.stdout.write(token)
