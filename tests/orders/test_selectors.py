"""Reads of the order book (orders.selectors): who may read what of an order."""

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from config.channels import Channel
from config.roles import Role
from orders.models import Order
from orders.selectors import order_list_for_staff, order_pickup_code_visible, order_staff_view
from orders.services import Actor
from tests.factories import VariantFactory, channel_client, staff_with_role, stock_receive_for
from tests.scenarios import Shop, place

pytestmark = pytest.mark.django_db


def supplied_by_store(shop: Shop) -> Order:
    """Picked up at the locker, its goods sent from the Sol store."""
    hat = VariantFactory.create()
    stock_receive_for(shop.store, hat, 3)
    return place(shop, fulfilment="locker", pickup=shop.locker, lines=[(hat, 1)])


def with_pickup_code_permission(user: Any) -> Any:
    user.user_permissions.add(Permission.objects.get(codename="view_pickup_code"))
    return type(user).objects.get(pk=user.pk)  # permissions are cached per instance


# --- The pickup code: whoever holds it collects the goods ----------------------------------------


def test_the_client_that_placed_the_order_reads_its_pickup_code(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    assert order_pickup_code_visible(order, client=shop.web.client, user=None) is True


def test_a_till_reaching_every_order_does_not_read_the_pickup_code_of_an_order_it_did_not_place(shop: Shop) -> None:
    till = shop.store_actor.client
    assert till is not None
    assert till.reaches_all
    order = place(shop, fulfilment="pickup", pickup=shop.store)  # placed online, picked up at the till's store

    assert order_pickup_code_visible(order, client=till, user=None) is False


def test_a_first_party_client_reaching_every_order_does_not_read_another_channels_pickup_code(shop: Shop) -> None:
    app, _token = channel_client(Channel.APP, name="App")
    order = place(shop, fulfilment="locker", pickup=shop.locker)

    assert order_pickup_code_visible(order, client=app, user=None) is False


def test_an_order_placed_by_staff_shows_no_client_its_pickup_code(shop: Shop) -> None:
    clerk = staff_with_role(Role.STORE_STAFF, shop.store)
    order = place(shop, fulfilment="pickup", pickup=shop.store, actor=Actor(channel=Channel.STORE, user=clerk))

    assert order_pickup_code_visible(order, client=shop.store_actor.client, user=None) is False


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.MANAGER])
def test_staff_who_resend_codes_read_the_pickup_code(shop: Shop, role: Role) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    assert order_pickup_code_visible(order, client=None, user=staff_with_role(role)) is True


@pytest.mark.parametrize("role", [Role.STORE_STAFF, Role.STORE_MANAGER])
def test_store_staff_check_codes_but_do_not_read_them(shop: Shop, role: Role) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)

    assert order_pickup_code_visible(order, client=None, user=staff_with_role(role, shop.store)) is False


def test_staff_of_a_supplying_store_do_not_read_the_pickup_code_even_with_the_permission(shop: Shop) -> None:
    order = supplied_by_store(shop)
    supplier = with_pickup_code_permission(staff_with_role(Role.STORE_MANAGER, shop.store))
    seen = order_list_for_staff(user=supplier).get(pk=order.pk)  # the picking view, annotated

    assert order_pickup_code_visible(seen, client=None, user=supplier) is False
    assert order_pickup_code_visible(order, client=None, user=supplier) is False  # not annotated: worked out


def test_staff_of_the_pickup_store_with_the_permission_read_the_pickup_code(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store)
    manager = with_pickup_code_permission(staff_with_role(Role.STORE_MANAGER, shop.store))

    assert order_pickup_code_visible(order, client=None, user=manager) is True


def test_an_order_read_outside_the_staff_list_gets_the_view_the_list_gives(shop: Shop) -> None:
    supplied = supplied_by_store(shop)
    picked_up_here = place(shop, fulfilment="pickup", pickup=shop.store)
    supplier = staff_with_role(Role.STORE_STAFF, shop.store)
    listed = {order.pk: order.staff_view for order in order_list_for_staff(user=supplier)}  # type: ignore[attr-defined]

    for order in (supplied, picked_up_here):
        plain = Order.objects.get(pk=order.pk)  # no annotation: asked of the list
        assert order_staff_view(plain, user=supplier) == listed[order.pk]
    assert (listed[supplied.pk], listed[picked_up_here.pk]) == ("picking", "full")
