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
