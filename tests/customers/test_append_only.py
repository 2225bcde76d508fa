"""The timeline, consent history and loyalty ledger are appended to, never edited in place."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db.models import Model

from config.models import AppendOnlyError
from customers.models import LoyaltyEntry
from customers.services import loyalty_earn
from tests.factories import ConsentFactory, CustomerEventFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def loyalty_entry() -> LoyaltyEntry:
    entry = loyalty_earn(customer=CustomerFactory.create(), amount=Decimal(50), reference="O-1", channel="web")
    assert entry is not None
    return entry


@pytest.mark.parametrize(
    ("make_row", "field", "value"),
    [
        pytest.param(CustomerEventFactory.create, "sku", "OTHER", id="timeline event"),
        pytest.param(ConsentFactory.create, "granted", False, id="consent"),
        pytest.param(loyalty_entry, "points", 5000, id="loyalty entry"),
    ],
)
def test_saving_an_existing_ledger_row_is_refused(make_row: Callable[[], Model], field: str, value: object) -> None:
    row = make_row()
    setattr(row, field, value)

    with pytest.raises(AppendOnlyError):
        row.save()

    row.refresh_from_db()
    assert getattr(row, field) != value
