from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from config.outbox import outbox_handler_register
        from customers.relations import erase_handler_register
        from orders.segments import purchase_segment_rules_register
        from orders.services.notifications import OrderNotificationHandler
        from orders.services.privacy import orders_personal_data_erase

        erase_handler_register("orders.Order", orders_personal_data_erase)
        purchase_segment_rules_register()
        outbox_handler_register(OrderNotificationHandler())
