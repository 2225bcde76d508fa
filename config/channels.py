from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    """Every way a customer reaches the retailer. One list, used by every app."""

    WEB = "web", _("Web shop")
    APP = "app", _("Mobile app")
    STORE = "store", _("Store")
    CALL_CENTER = "call_center", _("Call centre")
    SOCIAL = "social", _("Social networks")
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("E-mail")
    MARKETPLACE = "marketplace", _("Marketplace")
    LOCKER = "locker", _("Locker")


class ChannelKind(models.TextChoices):
    """Whose integration a channel is: it sets what reach a credential may be given."""

    FIRST_PARTY = "first_party", _("The retailer's own channel")
    THIRD_PARTY = "third_party", _("A third party's integration")
    DEVICE = "device", _("A device at a location")


# The retailer's own web shop, app, store tills and call centre. Marketplaces, social and
# messaging integrations are third parties; lockers are devices bound to their locations.
FIRST_PARTY_CHANNELS = frozenset({Channel.WEB, Channel.APP, Channel.STORE, Channel.CALL_CENTER})
DEVICE_CHANNELS = frozenset({Channel.LOCKER})


def channel_kind(channel: str) -> ChannelKind:
    if channel in FIRST_PARTY_CHANNELS:
        return ChannelKind.FIRST_PARTY
    if channel in DEVICE_CHANNELS:
        return ChannelKind.DEVICE
    return ChannelKind.THIRD_PARTY
