"""Erasing a customer scrubs their orders' contact details; numbers, lines and totals stay."""

from customers.services.privacy import customer_erase, customer_export
from orders.services.privacy import ERASED
from tests.scenarios import Shop, place


def test_erasing_a_customer_scrubs_contact_details_from_their_orders(shop: Shop) -> None:
    order = place(shop)

    customer_erase(customer=shop.customer)

    order.refresh_from_db()
    assert (order.email, order.phone, order.customer_name, order.shipping_name) == ("", "", "", "")
    assert order.shipping_street == ERASED
    assert order.shipping_city == ""
    assert order.shipping_postal_code == ""


def test_erasing_a_customer_keeps_their_orders_lines_and_totals(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 2)])

    customer_erase(customer=shop.customer)

    order.refresh_from_db()
    assert order.total == shop.shirt.price * 2
    assert order.lines.count() == 1


def test_a_customer_export_includes_their_orders_and_lines(shop: Shop) -> None:
    order = place(shop)

    exported = customer_export(customer=shop.customer)

    assert [row["number"] for row in exported["related"]["orders.Order.customer"]] == [order.number]
    assert exported["related"]["orders.OrderLine.order"][0]["sku"] == shop.shirt.sku
