from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlatformConfig(AppConfig):
    """The shared platform every domain app stands on: channel clients and the API's parts."""

    name = "config"
    label = "config"
    verbose_name = _("Platform")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from config.outbox import WebhookHandler, outbox_handler_register

        outbox_handler_register(WebhookHandler())
