"""Known credentials (the demo's tokens and passwords) live only in the embedded default.

`make run` prints `demo-web-token` and `admin`/`admin` so that anyone can try the product on
their laptop. Anywhere else those are everybody's secrets: the demo makes random ones instead,
the API refuses the known tokens, the sign-in refuses the known passwords, and the server
(`config.wsgi`, `config.asgi`: gunicorn, runserver) refuses to start while a known token or
password is in its database.
"""

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from config.demo import CHANNEL_CLIENTS, demo_modules
from config.models import ChannelClient, token_digest

logger = logging.getLogger(__name__)

KNOWN_TOKEN_DIGESTS = frozenset(token_digest(token) for _name, _channel, token in CHANNEL_CLIENTS)


def token_is_known_demo(token: str) -> bool:
    """A demo token outside the embedded default: refused whatever the database holds."""
    return not settings.DEMO_KNOWN_CREDENTIALS and token_digest(token) in KNOWN_TOKEN_DIGESTS


def known_logins() -> list[tuple[str, str]]:
    """Every demo module's (username, password) pairs whose password is public."""
    return [pair for module in demo_modules() for pair in getattr(module, "KNOWN_LOGINS", ())]


class KnownPasswordRefusingBackend(ModelBackend):
    """Django's sign-in, except a demo login with its public password outside the embedded default."""

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if not settings.DEMO_KNOWN_CREDENTIALS and (username, password) in known_logins():
            logger.warning("Refused the demo's known password for %s.", username)
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def known_credentials_found() -> list[str]:
    """Active channel clients holding a demo token and users whose password is a demo one."""
    found = [
        f"channel client {name!r}"
        for name in ChannelClient.objects.filter(token_digest__in=KNOWN_TOKEN_DIGESTS, is_active=True)
        .order_by("name")
        .values_list("name", flat=True)
    ]
    users = get_user_model().objects
    for username, password in known_logins():
        user = users.filter(username=username, is_active=True).first()
        if user is not None and user.check_password(password):
            found.append(f"user {username!r}")
    return found


def known_credentials_refuse() -> None:
    """Stop the server while a known credential would let anyone in (outside the embedded default)."""
    if settings.DEMO_KNOWN_CREDENTIALS:
        return
    try:
        found = known_credentials_found()
    except DatabaseError:
        # No tables yet (before the first migrate): nothing to let anyone in with.
        logger.warning("Known credentials not checked: the database is not ready.")
        return
    if found:
        raise ImproperlyConfigured(
            "Refusing to start: the demo's known credentials are in this database ("
            + ", ".join(found)
            + "). Deactivate those clients (or issue new tokens) and change those passwords."
        )
