"""Demo platform data for the embedded default: the admin login and channel clients with known tokens."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext as _

from config.channels import Channel
from config.models import ChannelClient, token_digest
from config.services import channel_client_create

CHANNEL_CLIENTS = (
    ("Tienda web", Channel.WEB, "demo-web-token"),
    ("App móvil", Channel.APP, "demo-app-token"),
    ("Tienda Madrid Centro (TPV)", Channel.STORE, "demo-store-token"),
    ("Taquillas Correos", Channel.LOCKER, "demo-locker-token"),
)

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"  # the embedded default's demo login, printed on purpose
ADMIN_EMAIL = "admin@example.com"


def _admin_load() -> int:
    user_model = get_user_model()
    if user_model.objects.filter(username=ADMIN_USERNAME).exists():
        return 0
    user_model.objects.create_superuser(username=ADMIN_USERNAME, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    return 1


def _channel_clients_load() -> int:
    created = 0
    for name, channel, token in CHANNEL_CLIENTS:
        # A renamed demo client still holds its token, which must stay unique.
        if ChannelClient.objects.filter(Q(name=name) | Q(token_digest=token_digest(token))).exists():
            continue
        channel_client_create(name=name, channel=channel, token=token)
        created += 1
    return created


def load() -> dict[str, int]:
    return {_("admin users"): _admin_load(), _("channel clients"): _channel_clients_load()}
