"""A simplified invoice (ticket) above the seller country's legal limit is refused at payment.

Spain: 3,000 € with VAT for retail (RD 1619/2012 art. 4.1), the `INVOICE_SIMPLIFIED_LIMITS`
setting. Without the buyer's tax id a payment on such an order is refused with
`full_invoice_required` and nothing recorded; with it (sent with the payment or at placing) the
invoice is a full one. A seller of a country without a limit is unaffected.
"""

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from config.roles import Role
from customers.models import StoreCreditEntry
from customers.services.store_credit import store_credit_grant
from invoicing.models import DocumentKind, Invoice, InvoiceSeries
from orders.exceptions import OrderErrorCode, OrderInputError
from orders.models import Order, OrderStatus, Payment
from orders.services import BillingDetails, order_make_ready, order_payment_add
from tests.api import token_api
from tests.config.test_openapi_contract import Contract
from tests.factories import VariantFactory, staff_with_role, stock_receive_for
from tests.scenarios import ADDRESS, Shop, place

NIF = "12345678Z"
PICKUPS = "/admin/orders/order/pickups/"
BILLING = BillingDetails(
    tax_id=NIF, name="Ana García SL", street="Calle Luna 3", city="Sevilla", postal_code="41001", country="ES"
)


def order_for(shop: Shop, total: str, **request: Any) -> Order:
    """An order for exactly `total` (tax included): one line of a product at that price."""
    variant = VariantFactory.create(price=Decimal(total))
    stock_receive_for(shop.warehouse, variant, 2)
    order = place(shop, lines=[(variant, 1)], **request)
    assert order.total == Decimal(total)
    return order


def pay_card(shop: Shop, order: Order, amount: Decimal | None = None, **kwargs: Any) -> Order:
    return order_payment_add(
        order=order,
        actor=shop.web,
        method="card",
        amount=order.amount_due if amount is None else amount,
        provider_reference=f"ch-{order.number}-{Payment.objects.count()}",
        **kwargs,
    )


def written(order: Order) -> tuple[Any, ...]:
    order.refresh_from_db()
    return (
        order.status,
        order.paid_amount,
        order.invoice_id,
        order.billing_tax_id,
        Payment.objects.count(),
        Invoice.objects.count(),
        sorted(InvoiceSeries.objects.values_list("kind", "last_number")),
        StoreCreditEntry.objects.count(),
    )


def test_an_order_at_the_limit_is_paid_with_a_ticket(shop: Shop) -> None:
    order = pay_card(shop, order_for(shop, "3000.00"))

    assert order.status == OrderStatus.PAID
    assert order.invoice is not None
    assert order.invoice.kind == DocumentKind.SIMPLIFIED


def test_a_payment_above_the_limit_without_a_tax_id_is_refused_and_nothing_is_written(shop: Shop) -> None:
    order = order_for(shop, "3000.01")
    before = written(order)

    with pytest.raises(OrderInputError) as refused:
        pay_card(shop, order)

    assert refused.value.code == OrderErrorCode.FULL_INVOICE_REQUIRED
    assert refused.value.extra == {"limit": "3000.00"}
    assert list(refused.value.fields) == ["billing"]
    assert written(order) == before


def test_a_part_payment_above_the_limit_is_refused_too_before_any_balance_is_spent(shop: Shop) -> None:
    store_credit_grant(customer=shop.customer, amount=Decimal("100.00"), reference="goodwill", reason="goodwill")
    order = order_for(shop, "3500.00")
    before = written(order)

    with pytest.raises(OrderInputError) as refused:
        order_payment_add(order=order, actor=shop.web, method="store_credit", amount=Decimal("100.00"))

    assert refused.value.code == OrderErrorCode.FULL_INVOICE_REQUIRED
    assert written(order) == before


def test_billing_details_sent_with_the_payment_get_a_full_invoice(shop: Shop) -> None:
    order = pay_card(shop, order_for(shop, "3500.00"), billing=BILLING)

    order.refresh_from_db()
    assert (order.billing_tax_id, order.billing_name, order.billing_country) == (NIF, "Ana García SL", "ES")
    invoice = order.invoice
    assert invoice is not None
    assert invoice.kind == DocumentKind.INVOICE
    assert (invoice.buyer_tax_id, invoice.buyer_name, invoice.buyer_city) == (NIF, "Ana García SL", "Sevilla")


def test_an_order_placed_with_a_tax_id_above_the_limit_is_paid_as_before(shop: Shop) -> None:
    order = pay_card(shop, order_for(shop, "3500.00", billing_tax_id=NIF, billing=ADDRESS))

    assert order.invoice is not None
    assert order.invoice.kind == DocumentKind.INVOICE


def test_billing_details_with_an_invalid_tax_id_are_refused_and_nothing_is_written(shop: Shop) -> None:
    order = order_for(shop, "3500.00")
    before = written(order)

    with pytest.raises(OrderInputError) as refused:
        pay_card(shop, order, billing=BillingDetails(tax_id="12345678A", street="x", city="y", postal_code="1"))

    assert refused.value.code == OrderErrorCode.INVALID_ORDER
    assert set(refused.value.fields) == {"billing_tax_id", "billing_address"}
    assert written(order) == before


def test_a_seller_of_a_country_without_a_limit_issues_the_ticket(shop: Shop) -> None:
    shop.seller.country = "PT"
    shop.seller.save(update_fields=["country"])

    order = pay_card(shop, order_for(shop, "3500.00"))

    assert order.invoice is not None
    assert order.invoice.kind == DocumentKind.SIMPLIFIED


def test_the_limit_is_a_setting_of_the_seller_country(shop: Shop, settings: Any) -> None:
    settings.INVOICE_SIMPLIFIED_LIMITS = {"PT": {"amount": "1000.00", "currency": "EUR"}}
    shop.seller.country = "PT"
    shop.seller.save(update_fields=["country"])

    with pytest.raises(OrderInputError) as refused:
        pay_card(shop, order_for(shop, "1000.01"))

    assert refused.value.extra == {"limit": "1000.00"}


# --- The API -----------------------------------------------------------------------------------


def test_the_api_refuses_a_ticket_above_the_limit_as_its_schema_says(shop: Shop) -> None:
    order = order_for(shop, "3000.01")
    before = written(order)
    path = f"/api/v1/orders/{order.number}/payments/"

    response = token_api(shop.web_token).post(
        path, {"method": "card", "amount": "3000.01", "provider_reference": "ch-api"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "full_invoice_required"
    assert response.json()["error"]["limit"] == "3000.00"
    assert written(order) == before
    assert Contract(SchemaGenerator().get_schema(request=None, public=True)).violations("post", path, response) == []


def test_the_api_takes_the_buyer_billing_details_with_the_payment(shop: Shop) -> None:
    order = order_for(shop, "3000.01")
    billing = {
        "tax_id": " 12345678z ",
        "name": "Ana García SL",
        **{k: v for k, v in vars(ADDRESS).items() if k != "name"},
    }

    response = token_api(shop.web_token).post(
        f"/api/v1/orders/{order.number}/payments/",
        {"method": "card", "amount": "3000.01", "provider_reference": "ch-api", "billing": billing},
        format="json",
    )

    assert response.status_code == 201
    order.refresh_from_db()
    assert order.invoice is not None
    assert (order.invoice.kind, order.invoice.buyer_tax_id) == (DocumentKind.INVOICE, NIF)
    assert response.json()["invoice"] == order.invoice.number


# --- The till in the admin's pickups counter --------------------------------------------------------


def ready_above_limit_at_store(shop: Shop) -> Order:
    """Pay at pickup, 3500.00, on the store's shelf and put aside: the customer pays at the till."""
    variant = VariantFactory.create(price=Decimal("3500.00"))
    stock_receive_for(shop.store, variant, 1)
    order = place(shop, lines=[(variant, 1)], fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    return order_make_ready(order=order, actor=shop.store_actor)


def counter(shop: Shop) -> Client:
    client = Client()
    client.force_login(staff_with_role(Role.STORE_STAFF, shop.store, username="tienda"))
    return client


def test_the_counter_refuses_a_ticket_above_the_limit_saying_what_to_give(shop: Shop) -> None:
    order = ready_above_limit_at_store(shop)
    before = written(order)

    response = counter(shop).post(
        PICKUPS, {"op": "pay", "number": order.number, "method": "cash", "amount": "3500.00"}, follow=True
    )

    assert written(order) == before
    assert any("tax id" in str(message) for message in get_messages(response.wsgi_request))


def test_the_counter_takes_the_buyers_billing_details_for_a_full_invoice(shop: Shop) -> None:
    order = ready_above_limit_at_store(shop)
    billing = {f"billing_{field}": getattr(BILLING, field) for field in vars(BILLING)}

    counter(shop).post(PICKUPS, {"op": "pay", "number": order.number, "method": "cash", "amount": "3500.00", **billing})

    order.refresh_from_db()
    assert order.invoice is not None
    assert (order.invoice.kind, order.invoice.buyer_tax_id) == (DocumentKind.INVOICE, NIF)
