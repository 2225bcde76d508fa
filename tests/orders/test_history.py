"""The order's history speaks one vocabulary: OrderEvent, each with a translatable label, the only ones stored."""

import pytest
from django.db import IntegrityError
from django.test import Client
from django.utils.functional import Promise

from customers.models import CustomerEvent, EventKind
from orders.models import OrderEvent, OrderStatus, OrderStatusChange
from tests.scenarios import Shop, deliver, pay, place, ship

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("event", list(OrderEvent), ids=lambda event: event.value)
def test_every_history_event_has_a_translatable_label(event: OrderEvent) -> None:
    assert isinstance(event.label, Promise)
    assert str(event.label) != event.value


def test_the_database_refuses_an_unknown_history_event(shop: Shop) -> None:
    order = place(shop)

    with pytest.raises(IntegrityError):
        OrderStatusChange.objects.create(order=order, event="teleported", status=OrderStatus.PLACED)


def test_an_order_walked_to_delivery_writes_enum_members_to_its_history_and_the_timeline(shop: Shop) -> None:
    order = deliver(shop, ship(shop, pay(shop, place(shop))))

    events = list(order.history.order_by("id").values_list("event", flat=True))
    kinds = CustomerEvent.objects.filter(customer=shop.customer).exclude(kind=EventKind.NOTIFICATION_SENT)
    assert events == [
        OrderEvent.PLACED,
        OrderEvent.PAYMENT,
        OrderEvent.PAID,
        OrderEvent.PARCEL_SHIPPED,  # its one parcel, then the order (issue 17)
        OrderEvent.SHIPPED,
        OrderEvent.PARCEL_DELIVERED,
        OrderEvent.DELIVERED,
    ]
    assert list(kinds.order_by("id").values_list("kind", flat=True)) == [
        EventKind.ORDER_PLACED,
        EventKind.ORDER_PAID,
        EventKind.ORDER_SHIPPED,
        EventKind.ORDER_DELIVERED,
    ]


def test_the_admin_shows_the_history_in_words(admin_client: Client, shop: Shop) -> None:
    order = pay(shop, place(shop))

    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert str(OrderEvent.PAYMENT.label) in page
    assert str(OrderEvent.PAID.label) in page
