import secrets
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from config.channels import Channel
from config.exceptions import ApplicationError, ConfigErrorCode
from config.models import ChannelClient, token_digest, validate_throttle_rate
from config.scopes import Reach, access_problems, default_reach, default_scopes
from config.transactions import use_case


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def _access_check(*, channel: str, scopes: Iterable[str], reach: str) -> list[str]:
    """The scopes, sorted and de-duplicated, once they and the reach suit the channel."""
    scopes = sorted(set(scopes))
    problems = access_problems(channel=channel, scopes=scopes, reach=reach)
    if problems:
        if "scopes" in problems:
            code = ConfigErrorCode.UNKNOWN_SCOPE
        elif reach in Reach.values:
            code = ConfigErrorCode.REACH_NOT_ALLOWED
        else:
            code = ConfigErrorCode.UNKNOWN_REACH
        raise ApplicationError(next(iter(problems.values()))[0], code=code, fields=problems)
    return scopes


@use_case
def channel_client_create(
    *,
    name: str,
    channel: str,
    throttle_rate: str = "",
    token: str | None = None,
    scopes: Iterable[str] | None = None,
    reach: str | None = None,
) -> tuple[ChannelClient, str]:
    """Create a client and return it with its token. The token is shown only now.

    Scopes and reach default to the channel's (config.scopes). `token` is for the embedded
    default's demo data only, so that `make run` can print a known one.
    """
    if channel not in Channel.values:
        raise ApplicationError(
            gettext("Unknown channel %(channel)s.") % {"channel": repr(channel)},
            code=ConfigErrorCode.UNKNOWN_CHANNEL,
            fields={"channel": [gettext("One of: %(choices)s.") % {"choices": ", ".join(Channel.values)}]},
        )
    reach = reach or default_reach(channel)
    checked_scopes = _access_check(
        channel=channel, scopes=default_scopes(channel) if scopes is None else scopes, reach=reach
    )
    try:
        validate_throttle_rate(throttle_rate)
    except ValidationError as exc:
        raise ApplicationError(
            exc.messages[0], code=ConfigErrorCode.INVALID_THROTTLE_RATE, fields={"throttle_rate": exc.messages}
        ) from exc
    if ChannelClient.objects.filter(name=name).exists():
        raise ApplicationError(
            gettext("A channel client named %(name)s already exists.") % {"name": repr(name)},
            code=ConfigErrorCode.DUPLICATE_NAME,
            fields={"name": [gettext("Already taken.")]},
        )
    token = token or _new_token()
    client = ChannelClient.objects.create(
        name=name,
        channel=channel,
        throttle_rate=throttle_rate,
        token_prefix=token[:8],
        token_digest=token_digest(token),
        scopes=checked_scopes,
        reach=reach,
    )
    return client, token


@use_case
def channel_client_access_set(*, client: ChannelClient, scopes: Iterable[str], reach: str) -> ChannelClient:
    """Staff change what a credential may do and whose data it sees; it applies to the next request."""
    client.scopes = _access_check(channel=client.channel, scopes=scopes, reach=reach)
    client.reach = reach
    client.save(update_fields=["scopes", "reach"])
    return client


@use_case
def channel_client_update(
    *, client: ChannelClient, name: str, throttle_rate: str, is_active: bool, scopes: Iterable[str], reach: str
) -> ChannelClient:
    """Staff edit a credential (the admin's change form): its name, throttle and state, then its access."""
    client.name, client.throttle_rate, client.is_active = name, throttle_rate, is_active
    client.save(update_fields=["name", "throttle_rate", "is_active"])
    return channel_client_access_set.step(client=client, scopes=scopes, reach=reach)


@use_case
def channel_client_rotate_token(*, client: ChannelClient) -> str:
    """Replace a client's token: the old one stops working at once."""
    token = _new_token()
    client.token_prefix = token[:8]
    client.token_digest = token_digest(token)
    client.save(update_fields=["token_prefix", "token_digest"])
    return token


@use_case
def channel_clients_deactivate(*, clients: Iterable[ChannelClient]) -> int:
    """Stop clients' tokens at once (a lost till, a retired integration)."""
    ids = [client.pk for client in clients]
    return ChannelClient.objects.filter(pk__in=ids, is_active=True).update(is_active=False)
