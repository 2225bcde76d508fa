from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from config.idempotency import idempotency_subject_finder_register
        from customers.services.privacy import customer_answer_subject

        # Stored idempotent answers that show a customer name them: the erasure empties them.
        idempotency_subject_finder_register(customer_answer_subject)
