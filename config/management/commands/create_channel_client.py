from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.channels import Channel
from config.exceptions import ApplicationError
from config.scopes import Reach, Scope
from config.services import channel_client_create


class Command(BaseCommand):
    help = "Create an API credential for a channel integration and print its token (shown once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, choices=Channel.values)
        parser.add_argument("--name", required=True)
        parser.add_argument("--throttle-rate", default="", help="e.g. 600/min; empty for the default")
        parser.add_argument(
            "--scopes",
            help=(
                "Comma-separated scopes, e.g. orders:write,catalog:read (default: the channel's). "
                f"Known: {', '.join(Scope.values)}."
            ),
        )
        parser.add_argument(
            "--reach",
            choices=Reach.values,
            help="all: every customer (first-party channels only); own: those it brought (default by channel).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client, token = channel_client_create(
                name=options["name"],
                channel=options["channel"],
                throttle_rate=options["throttle_rate"],
                scopes=None
                if options["scopes"] is None
                else [s.strip() for s in options["scopes"].split(",") if s.strip()],
                reach=options["reach"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stderr.write(f"Created {client}: reach {client.reach}, scopes {', '.join(client.scopes) or '(none)'}.")
        self.stderr.write("Keep this token: it is not shown again.")
        self.stdout.write(token)
