from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = _("Invoicing")

    def ready(self) -> None:
        from config.outbox import outbox_handler_register
        from invoicing.delivery import BillingRecordSubmissionHandler, InvoiceEmailHandler

        outbox_handler_register(InvoiceEmailHandler())
        outbox_handler_register(BillingRecordSubmissionHandler())
