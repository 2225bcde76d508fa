import secrets
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from config.channels import Channel
from config.exceptions import ApplicationError
from config.models import ChannelClient, token_digest, validate_throttle_rate


def _new_token() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def channel_client_create(
    *, name: str, channel: str, throttle_rate: str = "", token: str | None = None
) -> tuple[ChannelClient, str]:
    """Create a client and return it with its token. The token is shown only now.

    `token` is for demo data only, so that `make run` can print a known one.
    """
    if channel not in Channel.values:
        raise ApplicationError(
            f"Unknown channel {channel!r}.",
            code="unknown_channel",
            fields={"channel": [f"Choose one of {', '.join(Channel.values)}."]},
        )
    try:
        validate_throttle_rate(throttle_rate)
    except ValidationError as exc:
        raise ApplicationError(
            exc.messages[0], code="invalid_throttle_rate", fields={"throttle_rate": exc.messages}
        ) from exc
    if ChannelClient.objects.filter(name=name).exists():
        raise ApplicationError(
            f"A channel client named {name!r} already exists.",
            code="duplicate_name",
            fields={"name": ["Already taken."]},
        )
    token = token or _new_token()
    client = ChannelClient.objects.create(
        name=name,
        channel=channel,
        throttle_rate=throttle_rate,
        token_prefix=token[:8],
        token_digest=token_digest(token),
    )
    return client, token


@transaction.atomic
def channel_client_rotate_token(*, client: ChannelClient) -> str:
    """Replace a client's token: the old one stops working at once."""
    token = _new_token()
    client.token_prefix = token[:8]
    client.token_digest = token_digest(token)
    client.save(update_fields=["token_prefix", "token_digest"])
    return token


@transaction.atomic
def channel_clients_deactivate(*, clients: Iterable[ChannelClient]) -> int:
    """Stop clients' tokens at once (a lost till, a retired integration)."""
    ids = [client.pk for client in clients]
    return ChannelClient.objects.filter(pk__in=ids, is_active=True).update(is_active=False)
