"""Delivery charges (orders.services.delivery): the rules of its docstring, one by one, then the order,
its invoice and its cancellation with a charge."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from config.exceptions import ApplicationError
from config.idempotency import idempotency_fingerprint
from customers.models import Customer, LoyaltyEntry, LoyaltyEntryKind
from customers.services.store_credit import store_credit_grant
from inventory.models import StockLevel
from invoicing.models import Invoice
from orders.models import (
    DeliveryMethod,
    DeliveryRate,
    DeliveryZone,
    DeliveryZoneArea,
    NotificationKind,
    Order,
    OrderNotification,
    OrderStatus,
    Payment,
)
from orders.services import (
    Address,
    LineRequest,
    OrderRequest,
    order_cancel,
    order_place,
)
from orders.services.delivery import DeliveryQuote
from orders.services.notifications import order_notification_message
from orders.services.quoting import delivery_quote
from tests.factories import VariantFactory, delivery_method_create, delivery_zone_create, stock_receive_for
from tests.scenarios import Shop, owed_back, pay, place

# The shop's shirt weighs 300 g and costs 19.95; two cost 39.90, three 59.85.
SHIRT_GRAMS = 300


@pytest.fixture
def zones(shop: Shop) -> dict[str, DeliveryZone]:
    shop.shirt.weight_grams = SHIRT_GRAMS
    shop.shirt.save(update_fields=["weight_grams"])
    shop.book.weight_grams = 500
    shop.book.save(update_fields=["weight_grams"])
    return {
        "peninsula": delivery_zone_create("peninsula", ("ES", "")),
        "baleares": delivery_zone_create("baleares", ("ES", "07")),
        "portugal": delivery_zone_create("portugal", ("PT", "")),
    }


@pytest.fixture
def methods(zones: dict[str, DeliveryZone]) -> dict[str, DeliveryMethod]:
    peninsula, baleares = zones["peninsula"], zones["baleares"]
    return {
        "standard": delivery_method_create(
            "standard",
            is_default=True,
            position=1,
            rates=[
                (peninsula, 1000, "3.95", "50.00"),
                (peninsula, 5000, "5.95", "50.00"),
                (peninsula, None, "9.95", None),
                (baleares, 2000, "7.95", "100.00"),
            ],
        ),
        "express": delivery_method_create(
            "express", position=2, rates=[(peninsula, 5000, "9.95", None), (baleares, 5000, "14.95", None)]
        ),
        "store": delivery_method_create("store", kind="pickup", is_default=True),
        "locker": delivery_method_create("locker", kind="locker", is_default=True),
    }


def quote(
    shop: Shop, lines: list[tuple[Any, int]], *, postal_code: str = "41001", country: str = "ES", **kw: Any
) -> DeliveryQuote:
    return delivery_quote(
        lines=[LineRequest(sku=variant.sku, quantity=quantity) for variant, quantity in lines],
        fulfilment_type=kw.pop("fulfilment_type", "ship"),
        country=country,
        postal_code=postal_code,
        **kw,
    )


def code_of(row: DeliveryMethod | DeliveryZone | None) -> str | None:
    return None if row is None else row.code


def invoice_of(order: Order) -> Invoice:
    assert order.invoice is not None
    return order.invoice


def prices(result: Any) -> dict[str, Decimal]:
    return {option.method.code: option.price for option in result.options}


def counts() -> tuple[int, ...]:
    return (
        Order.objects.count(),
        Customer.objects.count(),
        Payment.objects.count(),
        sum(StockLevel.objects.values_list("reserved", flat=True)),
    )


# --- Quoting: zones, bands, thresholds ----------------------------------------------------------


def test_a_quote_prices_each_method_by_zone_and_weight_band(shop: Shop, methods: Any) -> None:
    result = quote(shop, [(shop.shirt, 1)])

    assert code_of(result.zone) == "peninsula"
    assert result.weight_grams == SHIRT_GRAMS
    assert prices(result) == {"standard": Decimal("3.95"), "express": Decimal("9.95")}


def test_a_heavier_basket_takes_the_next_band(shop: Shop, methods: Any) -> None:
    result = quote(shop, [(shop.book, 3)])  # 1,500 g, 30.00

    assert prices(result)["standard"] == Decimal("5.95")


def test_a_basket_above_every_bounded_band_takes_the_open_one(shop: Shop, methods: Any) -> None:
    result = quote(shop, [(shop.book, 11)])  # 5,500 g: express stops at 5 kg

    assert prices(result) == {"standard": Decimal("9.95")}


def test_the_longest_postal_prefix_picks_the_zone(shop: Shop, methods: Any) -> None:
    result = quote(shop, [(shop.shirt, 1)], postal_code="07 001")

    assert code_of(result.zone) == "baleares"
    assert prices(result) == {"standard": Decimal("7.95"), "express": Decimal("14.95")}


def test_delivery_is_free_from_the_rates_threshold(shop: Shop, methods: Any) -> None:
    result = quote(shop, [(shop.shirt, 3)])  # 59.85 of goods

    standard = next(o for o in result.options if o.method.code == "standard")
    assert (standard.price, standard.regular_price, standard.free_over) == (
        Decimal("0.00"),
        Decimal("3.95"),
        Decimal("50.00"),
    )
    assert prices(result)["express"] == Decimal("9.95")  # no threshold on express


def test_the_threshold_is_the_zones(shop: Shop, methods: Any) -> None:
    result = quote(shop, [(shop.shirt, 3)], postal_code="07001")  # 59.85: below the islands' 100

    assert prices(result)["standard"] == Decimal("7.95")


def test_the_default_method_is_marked(shop: Shop, methods: Any) -> None:
    result = quote(shop, [(shop.shirt, 1)])

    assert result.default is not None
    assert result.default.method.code == "standard"
    assert [o.method.code for o in result.options if o.is_default] == ["standard"]


def test_without_a_default_the_cheapest_method_applies(shop: Shop, methods: Any) -> None:
    DeliveryMethod.objects.filter(code="standard").update(is_default=False)

    default = quote(shop, [(shop.shirt, 1)]).default
    assert default is not None
    assert default.method.code == "standard"  # 3.95 < 9.95


def test_pickup_and_locker_are_free_unless_configured(shop: Shop, methods: Any) -> None:
    at_store = quote(shop, [(shop.shirt, 1)], fulfilment_type="pickup", pickup_location=shop.store)
    at_locker = quote(shop, [(shop.shirt, 1)], fulfilment_type="locker", pickup_location=shop.locker)

    assert prices(at_store) == {"store": Decimal("0.00")}
    assert prices(at_locker) == {"locker": Decimal("0.00")}


def test_a_locker_with_rates_is_charged(shop: Shop, methods: Any, zones: Any) -> None:
    DeliveryRate.objects.create(method=methods["locker"], zone=zones["peninsula"], price=Decimal("1.95"))

    result = quote(shop, [(shop.shirt, 1)], fulfilment_type="locker", pickup_location=shop.locker)

    assert prices(result) == {"locker": Decimal("1.95")}


def test_inactive_methods_are_not_offered(shop: Shop, methods: Any) -> None:
    DeliveryMethod.objects.filter(code="express").update(is_active=False)

    assert set(prices(quote(shop, [(shop.shirt, 1)]))) == {"standard"}


def test_without_methods_of_the_kind_the_quote_is_empty(shop: Shop) -> None:
    result = quote(shop, [(shop.shirt, 1)])

    assert result.options == ()
    assert result.default is None


def test_an_address_in_no_zone_is_refused(shop: Shop, methods: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        quote(shop, [(shop.shirt, 1)], country="FR", postal_code="75001")

    assert refused.value.code == "delivery_zone_unknown"


def test_a_zone_no_method_serves_is_unavailable(shop: Shop, methods: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        quote(shop, [(shop.shirt, 1)], country="PT", postal_code="1100")

    assert refused.value.code == "delivery_unavailable"


def test_the_quote_reads_a_fixed_number_of_queries(
    shop: Shop, methods: Any, django_assert_max_num_queries: Any
) -> None:
    variants = [VariantFactory.create(weight_grams=100) for _n in range(20)]
    quote(shop, [(shop.shirt, 1)])  # warm-up: content types, the site's caches

    # Variants (1), prices and promotions (catalog.pricing), methods and rates (2), the zone (1).
    with django_assert_max_num_queries(8):
        result = quote(shop, [(variant, 1) for variant in variants])

    assert result.weight_grams == 2000


# --- Placing with a charge ----------------------------------------------------------------------


def test_placing_with_a_method_stores_the_charge_and_totals_it(shop: Shop, methods: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 1)], delivery_method="express")

    assert (code_of(order.delivery_method), code_of(order.delivery_zone)) == ("express", "peninsula")
    assert (order.delivery_charge, order.delivery_tax_rate) == (Decimal("9.95"), Decimal("21.00"))
    assert order.weight_grams == SHIRT_GRAMS
    assert order.total == Decimal("29.90")  # 19.95 + 9.95
    assert order.tax_total == Decimal("5.19")  # 29.90 - 29.90 / 1.21


def test_placing_without_a_method_takes_the_default(shop: Shop, methods: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 1)])

    assert (code_of(order.delivery_method), order.delivery_charge, order.total) == (
        "standard",
        Decimal("3.95"),
        Decimal("23.90"),
    )


def test_placing_above_the_threshold_charges_nothing(shop: Shop, methods: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 3)])

    assert (code_of(order.delivery_method), order.delivery_charge, order.total) == (
        "standard",
        Decimal("0.00"),
        Decimal("59.85"),
    )


def test_a_pickup_order_is_free_by_default(shop: Shop, methods: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 1)], fulfilment="pickup", pickup=shop.store)

    assert (code_of(order.delivery_method), order.delivery_charge, order.total) == (
        "store",
        Decimal("0.00"),
        Decimal("19.95"),
    )


def test_without_methods_a_shipped_order_is_placed_with_no_charge(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 1)])

    assert (order.delivery_method, order.delivery_charge, order.total) == (None, Decimal("0.00"), Decimal("19.95"))


def test_a_charge_at_another_vat_rate_is_taxed_at_its_own(shop: Shop, zones: Any) -> None:
    delivery_method_create("reduced", tax_rate="10", is_default=True, rates=[(zones["peninsula"], None, "11.00", None)])

    order = place(shop, lines=[(shop.book, 1)])  # 10.00 at 4 %

    assert order.total == Decimal("21.00")
    assert order.tax_total == Decimal("1.38")  # 0.38 on the book, 1.00 on the charge


@pytest.mark.parametrize(
    ("request_fields", "code"),
    [
        ({"delivery_method": "teleport"}, "delivery_method_unknown"),
        ({"delivery_method": "store"}, "delivery_unavailable"),  # a pickup method for a shipped order
        ({"delivery_method": "express", "lines_of": ("book", 11)}, "delivery_unavailable"),  # too heavy
    ],
)
def test_a_method_that_cannot_serve_is_refused_and_nothing_is_written(
    shop: Shop, methods: Any, request_fields: dict[str, Any], code: str
) -> None:
    lines_of = request_fields.pop("lines_of", ("shirt", 1))
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        place(shop, lines=[(getattr(shop, lines_of[0]), lines_of[1])], **request_fields)

    assert (refused.value.code, refused.value.status_code) == (code, 400)
    assert counts() == before


def test_shipping_to_no_zone_is_refused_and_nothing_is_written(shop: Shop, methods: Any) -> None:
    before = counts()
    far = Address(name="Jean", street="Rue X 1", city="Paris", postal_code="75001", country="FR")

    with pytest.raises(ApplicationError) as refused:
        _place_to(shop, far)

    assert refused.value.code == "delivery_zone_unknown"
    assert counts() == before


def _place_to(shop: Shop, address: Address) -> Order:
    return order_place(
        actor=shop.web,
        idempotency_key="far-away",
        fingerprint=idempotency_fingerprint({"key": "far-away"}),
        request=OrderRequest(
            customer=shop.customer,
            lines=[LineRequest(sku=shop.shirt.sku, quantity=1)],
            fulfilment_type="ship",
            shipping=address,
            email="ana@example.com",
        ),
    ).order


def test_placing_with_delivery_is_bounded(shop: Shop, methods: Any, django_assert_max_num_queries: Any) -> None:
    variants = [VariantFactory.create(weight_grams=10) for _n in range(50)]
    for variant in variants:
        stock_receive_for(shop.warehouse, variant, 5)
    place(shop, lines=[(shop.shirt, 1)], key="warm-up")

    # As without delivery (tests/orders/test_placing.py), plus the rates and the zone.
    with django_assert_max_num_queries(29):
        order = place(shop, lines=[(variant, 1) for variant in variants], key="fifty")

    assert (code_of(order.delivery_method), code_of(order.delivery_zone), order.weight_grams) == (
        "standard",
        "peninsula",
        500,
    )


# --- The invoice and the cancellation -----------------------------------------------------------


def test_the_invoice_carries_the_charge_as_its_own_line_with_its_vat(shop: Shop, methods: Any) -> None:
    order = pay(shop, place(shop, lines=[(shop.book, 1)], delivery_method="express"))

    invoice = invoice_of(order)
    lines = {line.description: line for line in invoice.lines.all()}
    charge = lines["Express"]
    assert (charge.quantity, charge.unit_price, charge.tax_rate, charge.gross_amount) == (
        Decimal("1.000"),
        Decimal("9.95"),
        Decimal("21.00"),
        Decimal("9.95"),
    )
    assert invoice.payable_total == order.total == Decimal("19.95")
    assert invoice.tax_total == order.tax_total
    assert {tax.tax_rate for tax in invoice.taxes.all()} == {Decimal("4.00"), Decimal("21.00")}


def test_a_free_delivery_adds_no_line_to_the_invoice(shop: Shop, methods: Any) -> None:
    order = pay(shop, place(shop, lines=[(shop.shirt, 3)]))

    assert invoice_of(order).lines.count() == 1
    assert invoice_of(order).payable_total == Decimal("59.85")


def test_cancelling_refunds_the_charge_and_credits_its_line(shop: Shop, methods: Any) -> None:
    order = pay(shop, place(shop, lines=[(shop.shirt, 1)], delivery_method="express"))

    order = order_cancel(order=order, actor=shop.web, reason="changed my mind")

    assert order.status == OrderStatus.CANCELLED
    # A card refund is owed until the channel's integration confirms it (refunds that happen).
    assert owed_back(order) == order.total == Decimal("29.90")
    credit = order.credit_note
    assert credit is not None
    assert abs(credit.payable_total) == invoice_of(order).payable_total
    assert "Express" in {line.description for line in credit.lines.all()}


# --- The database's rules -----------------------------------------------------------------------


def test_one_band_per_method_zone_currency_and_weight(shop: Shop, methods: Any, zones: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryRate.objects.create(
            method=methods["standard"], zone=zones["peninsula"], max_weight_grams=1000, price=Decimal("1")
        )


def test_one_open_band_per_method_zone_and_currency(shop: Shop, methods: Any, zones: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryRate.objects.create(method=methods["standard"], zone=zones["peninsula"], price=Decimal("1"))


def test_a_rate_is_never_negative(shop: Shop, methods: Any, zones: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryRate.objects.create(method=methods["express"], zone=zones["portugal"], price=Decimal("-1"))


def test_an_area_belongs_to_one_zone(shop: Shop, zones: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        DeliveryZoneArea.objects.create(zone=zones["portugal"], country="ES", postal_code_prefix="07")


def test_one_default_method_per_kind(shop: Shop, methods: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        delivery_method_create("courier", is_default=True)


def test_an_order_charging_delivery_names_its_method(shop: Shop, methods: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 1)])

    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(delivery_method=None)


def test_the_placed_message_tells_the_delivery_charge(shop: Shop, methods: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 1)], delivery_method="express")

    message = order_notification_message(OrderNotification.objects.get(order=order, kind=NotificationKind.PLACED))

    assert "Express" in message.text
    assert "9,95" in message.text  # the order's language is Spanish: its number format


def test_points_are_earned_on_the_goods_not_on_delivery(shop: Shop, methods: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 1)], delivery_method="express")

    pay(shop, order, amount=Decimal("29.90"))  # 19.95 goods + 9.95 delivery

    assert LoyaltyEntry.objects.get(kind=LoyaltyEntryKind.EARN).points == 19


def test_balances_covering_more_than_the_delivery_leave_no_points_below_zero(shop: Shop, methods: Any) -> None:
    store_credit_grant(customer=shop.customer, amount=Decimal("25.00"), reference="goodwill", reason="goodwill")
    order = place(shop, lines=[(shop.shirt, 1)], delivery_method="express")

    order = pay(shop, order, method="store_credit", amount=Decimal("25.00"))
    order = pay(shop, order, amount=Decimal("4.90"))

    assert order.is_paid
    assert not LoyaltyEntry.objects.filter(kind=LoyaltyEntryKind.EARN).exists()
