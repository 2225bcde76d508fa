"""Hooks that apps above catalog register from their AppConfig.ready() (explicit, no signals).

The product list offers "in stock" filters, but stock lives in the inventory app, which
catalog must not import: inventory registers the filter here.
"""

from collections.abc import Callable

from django.db.models import QuerySet
from django.utils.translation import gettext

from catalog.exceptions import CatalogErrorCode
from catalog.models import Product
from config.exceptions import ApplicationError

# (products, location_code or None for "anywhere") -> products with stock available there
StockFilter = Callable[[QuerySet[Product], str | None], QuerySet[Product]]
_stock_filter: list[StockFilter] = []


def stock_filter_register(stock_filter: StockFilter) -> None:
    _stock_filter[:] = [stock_filter]


def product_list_in_stock(*, queryset: QuerySet[Product], location_code: str | None = None) -> QuerySet[Product]:
    if not _stock_filter:
        raise ApplicationError(gettext("Stock filters need the inventory app."), code=CatalogErrorCode.UNAVAILABLE)
    return _stock_filter[0](queryset, location_code)
