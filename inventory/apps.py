from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self) -> None:
        from catalog.extensions import stock_filter_register
        from config.outbox import outbox_handler_register
        from inventory.alerts import LowStockAlertEmailHandler
        from inventory.selectors import product_list_in_stock

        stock_filter_register(product_list_in_stock)
        outbox_handler_register(LowStockAlertEmailHandler())
