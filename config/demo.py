"""Demo platform data: the admin login and one channel client per first-party channel.

In the embedded default (`make run`: SQLite, DEBUG) the credentials are the known ones printed
below, so anyone can try the product. In any other profile the same demo gets random tokens
and passwords, printed once by `load_demo` (config.security refuses the known ones there).
"""

import secrets
from types import ModuleType
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext as _

from config.channels import Channel
from config.discovery import project_app_modules
from config.models import ChannelClient, token_digest
from config.scopes import Reach
from config.services import channel_client_create

# (name, channel, the embedded default's token). The app keeps the default reach of a client
# that is not given every customer, "own": it shows how a narrower first-party client works.
CHANNEL_CLIENTS = (
    ("Tienda web", Channel.WEB, "demo-web-token"),
    ("App móvil", Channel.APP, "demo-app-token"),
    ("Tienda Madrid Centro (TPV)", Channel.STORE, "demo-store-token"),
    ("Taquillas Correos", Channel.LOCKER, "demo-locker-token"),
)
NARROWED_REACH = {"App móvil": Reach.OWN}

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # the embedded default's demo login, printed on purpose
ADMIN_EMAIL = "admin@example.com"
# Logins whose password is public: config.security refuses to start production with them.
KNOWN_LOGINS = ((ADMIN_USERNAME, ADMIN_PASSWORD),)

# What this run created that a person needs to sign in with: printed once by load_demo.
credentials_created: list[tuple[str, str]] = []


def demo_modules() -> list[ModuleType]:
    """Each project app's `demo` module, lowest layer first."""
    return project_app_modules("demo")


def demo_secret(known: str) -> str:
    """The known demo secret in the embedded default; a random one anywhere else."""
    return known if settings.DEMO_KNOWN_CREDENTIALS else secrets.token_urlsafe(18)


def demo_credential_note(label: str, secret: str) -> None:
    credentials_created.append((label, secret))


def demo_user_create(*, username: str, password: str, **fields: Any) -> Any:
    """A demo login with the known password (embedded default) or a random one, noted for printing."""
    secret = demo_secret(password)
    user = get_user_model().objects.create_user(username=username, password=secret, **fields)
    demo_credential_note(_("password of %(user)s") % {"user": username}, secret)
    return user


def _admin_load() -> int:
    user_model = get_user_model()
    if user_model.objects.filter(username=ADMIN_USERNAME).exists():
        return 0
    secret = demo_secret(ADMIN_PASSWORD)
    user_model.objects.create_superuser(username=ADMIN_USERNAME, email=ADMIN_EMAIL, password=secret)
    demo_credential_note(_("password of %(user)s") % {"user": ADMIN_USERNAME}, secret)
    return 1


def _channel_clients_load() -> int:
    created = 0
    for name, channel, token in CHANNEL_CLIENTS:
        # A renamed demo client still holds its token, which must stay unique.
        if ChannelClient.objects.filter(Q(name=name) | Q(token_digest=token_digest(token))).exists():
            continue
        _client, secret = channel_client_create(
            name=name, channel=channel, token=demo_secret(token), reach=NARROWED_REACH.get(name)
        )
        demo_credential_note(_("token of %(client)s") % {"client": name}, secret)
        created += 1
    return created


def load() -> dict[str, int]:
    return {_("admin users"): _admin_load(), _("channel clients"): _channel_clients_load()}
