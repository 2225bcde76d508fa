"""Opening a customer's account row (loyalty, store credit) once, whichever channel asks first."""

from typing import Any

from django.db import IntegrityError, models, transaction


def account_get_or_create[AccountT: models.Model](model: type[AccountT], **keys: Any) -> AccountT:
    """The account row with these keys, created if there is none.

    Created in a savepoint: when another channel opened it at the same moment, the unique
    constraint refuses ours and the row the other one committed is read instead.
    """
    manager = model._default_manager
    account = manager.filter(**keys).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return manager.create(**keys)
    except IntegrityError:  # another channel opened it at the same moment
        return manager.get(**keys)
