"""Every relation that points at Customer, in any installed app.

Merge and privacy export walk these, so a relation added by a later app (orders,
invoices, support cases) is covered without customers importing that app.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from customers.models import Customer


@dataclass(frozen=True)
class CustomerRelation:
    model: type[models.Model]
    field: models.ForeignKey

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    def rows_of(self, customer: Customer) -> "models.QuerySet[models.Model]":
        return self.model._base_manager.filter(**{self.field.name: customer})


def customer_relations() -> list[CustomerRelation]:
    found = [
        CustomerRelation(model=model, field=field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey) and field.related_model is Customer
    ]
    return sorted(found, key=lambda relation: relation.label)


# A relation whose rows cannot simply be re-pointed (a one-to-one, a uniqueness) registers
# how to merge them: handler(keep, remove) -> rows moved. Apps register in AppConfig.ready().
MergeHandler = Callable[[Customer, Customer], int]
MERGE_HANDLERS: dict[str, MergeHandler] = {}


def merge_handler_register(label: str, handler: MergeHandler) -> None:
    MERGE_HANDLERS[label] = handler


# Personal data that other apps keep beside their records (an order's e-mail and address) is
# scrubbed by the app that owns it when a customer is erased: handler(customer) -> rows scrubbed.
EraseHandler = Callable[[Customer], int]
ERASE_HANDLERS: dict[str, EraseHandler] = {}


def erase_handler_register(label: str, handler: EraseHandler) -> None:
    ERASE_HANDLERS[label] = handler
