"""API authentication: a channel client's token becomes the request's principal."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from config.channels import Channel
from config.exceptions import ConfigErrorCode
from config.models import ChannelClient
from config.security import token_is_known_demo
from config.selectors import channel_client_get_by_token


class ChannelPrincipal:
    """request.user for a channel client: authenticated, but no staff user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, client: ChannelClient) -> None:
        self.client = client

    def __str__(self) -> str:
        return str(self.client)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class ChannelClientAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <token>` (or `Bearer <token>`)."""

    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[ChannelPrincipal, ChannelClient] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."), code=ConfigErrorCode.INVALID_TOKEN_HEADER)
        try:
            token = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token."), code=ConfigErrorCode.INVALID_TOKEN) from None
        client = None if token_is_known_demo(token) else channel_client_get_by_token(token=token)
        if client is None:
            raise exceptions.AuthenticationFailed(_("Invalid or inactive token."), code=ConfigErrorCode.INVALID_TOKEN)
        return ChannelPrincipal(client), client

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api"'


class ChannelClientAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.ChannelClientAuthentication"
    name = "ChannelToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>` as printed by `manage.py create_channel_client`.",
        }


def request_channel_client(request: Request) -> ChannelClient | None:
    """The channel client behind a request, if a client (not staff) made it."""
    return request.auth if isinstance(request.auth, ChannelClient) else None


def request_channel(request: Request) -> str:
    """The channel a request acts for: its client's credential, never the body.

    Staff signed in to the back-office act for the store channel.
    """
    client = request_channel_client(request)
    return client.channel if client else Channel.STORE
