"""Placing an order through the service: prices, totals, sourcing, deadlines, validation, idempotency, cost."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Product, TaxCategory, Variant
from config.channels import Channel
from config.idempotency import IdempotencyKeyReused, idempotency_fingerprint
from customers.models import ContactPoint, Customer
from inventory.exceptions import OutOfStock
from inventory.models import Location, StockLevel, StockMovement, Transfer, TransferStatus
from inventory.services import StockLine, stock_receive, stock_reserve
from invoicing.models import DocumentKind
from orders.exceptions import OrderInputError
from orders.models import Order, OrderLine, OrderStatus
from orders.services import (
    Actor,
    Address,
    LineRequest,
    OrderRequest,
    Placement,
    order_payment_add,
    order_place,
)
from orders.services import placing as placing_module
from tests.concurrency import raised, run_at_once
from tests.factories import (
    VALID_NIFS,
    LocationFactory,
    ProductFactory,
    PromotionFactory,
    VariantFactory,
    channel_client,
    stock_receive_for,
)
from tests.scenarios import ADDRESS, Shop, place


def order_request(
    shop: Shop,
    *,
    lines: list[tuple[Variant, Any]] | None = None,
    fulfilment: str = "ship",
    pickup: Location | None = None,
    shipping: Address | None = ADDRESS,
    **fields: Any,
) -> OrderRequest:
    return OrderRequest(
        customer=shop.customer,
        lines=[LineRequest(sku=v.sku, quantity=q) for v, q in (lines if lines is not None else [(shop.shirt, 1)])],
        fulfilment_type=fulfilment,
        pickup_location=pickup,
        shipping=shipping if fulfilment == "ship" else None,
        email=fields.pop("email", "ana@example.com"),
        phone=fields.pop("phone", "+34 600 000 001"),
        name=fields.pop("name", "Ana García"),
        language="es",
        **fields,
    )


def place_request(
    shop: Shop, request: OrderRequest, *, key: str = "k-1", actor: Actor | None = None, body: Any = None
) -> Placement:
    return order_place(
        actor=actor or shop.web,
        idempotency_key=key,
        fingerprint=idempotency_fingerprint(body if body is not None else {"key": key}),
        request=request,
    )


def reserved(location: Location, variant: Variant) -> int:
    level = StockLevel.objects.filter(location=location, variant=variant).first()
    return level.reserved if level else 0


def writes() -> tuple[int, ...]:
    """Everything placing may write: orders, lines, stock movements, transfers, units reserved."""
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        StockMovement.objects.count(),
        Transfer.objects.count(),
        StockLevel.objects.aggregate(total=Sum("reserved"))["total"] or 0,
    )


@pytest.fixture
def nothing_written(shop: Shop) -> Iterator[None]:
    """The test body must leave no trace of an order."""
    before = writes()
    yield
    assert writes() == before


def refused(request: OrderRequest, shop: Shop) -> OrderInputError:
    with pytest.raises(OrderInputError) as caught:
        place_request(shop, request)
    return caught.value


# --- Prices and totals ------------------------------------------------------------------------


def test_unit_price_is_the_catalog_price(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 2)])

    line = order.lines.get()
    assert (line.unit_price, line.regular_unit_price, line.line_total) == (
        Decimal("19.95"),
        Decimal("19.95"),
        Decimal("39.90"),
    )


def test_a_running_promotion_lowers_the_unit_price_and_keeps_the_regular_price(shop: Shop) -> None:
    PromotionFactory.create(variants=[shop.shirt], value=Decimal("10"))

    order = place(shop, lines=[(shop.shirt, 2)])

    line = order.lines.get()
    assert (line.unit_price, line.regular_unit_price) == (Decimal("17.96"), Decimal("19.95"))
    assert line.line_total == Decimal("35.92")
    assert order.total == Decimal("35.92")


def test_a_promotion_that_has_ended_does_not_lower_the_price(shop: Shop) -> None:
    PromotionFactory.create(
        variants=[shop.shirt],
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() - timedelta(days=1),
    )

    order = place(shop)

    assert order.lines.get().unit_price == Decimal("19.95")


def test_the_invoice_shows_the_promotion_as_a_discount(shop: Shop) -> None:
    PromotionFactory.create(variants=[shop.shirt], value=Decimal("10"))
    order = place(shop, lines=[(shop.shirt, 2)])

    order = order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="c1")

    assert order.invoice is not None
    line = order.invoice.lines.get()
    assert (line.unit_price, line.quantity, line.discount) == (Decimal("19.95"), Decimal(2), Decimal("3.98"))
    assert order.invoice.payable_total == order.total == Decimal("35.92")


def test_a_free_order_is_paid_and_invoiced_as_placed(shop: Shop) -> None:
    PromotionFactory.create(variants=[shop.shirt], kind="percentage", value=Decimal("100"))

    order = place(shop, lines=[(shop.shirt, 2)])

    assert (order.total, order.status, order.paid_amount) == (Decimal("0.00"), OrderStatus.PAID, Decimal("0.00"))
    assert order.paid_at is not None
    assert order.invoice is not None
    assert (order.invoice.payable_total, order.invoice.lines.get().discount) == (Decimal("0.00"), Decimal("39.90"))
    assert Order.objects.get(pk=order.pk).invoice_id == order.invoice.pk


def test_total_and_tax_total_add_up_the_lines_at_their_rates(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 1), (shop.book, 1)])

    # 19.95 at 21 %: 16.49 + 3.46; 10.00 at 4 %: 9.62 + 0.38.
    assert order.total == Decimal("29.95")
    assert order.tax_total == Decimal("3.84")


def test_order_is_in_the_shop_currency(shop: Shop) -> None:
    order = place(shop)

    assert order.currency == settings.DEFAULT_CURRENCY


def test_lines_snapshot_sku_description_and_tax_rate(shop: Shop) -> None:
    name = shop.book.product.name
    order = place(shop, lines=[(shop.book, 1)])
    Variant.objects.filter(pk=shop.book.pk).update(price=Decimal("99.00"), size="XL", sku="RENAMED")
    Product.objects.filter(pk=shop.book.product_id).update(name="Renamed")
    TaxCategory.objects.filter(code="reduced").update(rate=Decimal("10"))

    line = OrderLine.objects.get(order=order)
    assert (line.sku, line.description, line.tax_rate, line.unit_price) == (
        shop.book.sku,
        f"{name} (M / Negro)",
        Decimal("4"),
        Decimal("10.00"),
    )


def test_a_repeated_sku_becomes_one_line_per_request(shop: Shop) -> None:
    order = place(shop, lines=[(shop.book, 1), (shop.book, 2)])

    assert [(line.sku, line.quantity) for line in order.lines.all()] == [(shop.book.sku, 1), (shop.book.sku, 2)]
    assert reserved(shop.warehouse, shop.book) == 3


# --- Sourcing --------------------------------------------------------------------------------


def test_shipped_order_is_reserved_at_the_shipping_location(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 2)])

    line = order.lines.get()
    assert (line.source, line.transfer) == (shop.warehouse, None)
    assert reserved(shop.warehouse, shop.shirt) == 2
    assert reserved(shop.store, shop.shirt) == 0


def test_a_line_split_across_locations_becomes_one_line_per_source(shop: Shop) -> None:
    second = LocationFactory.create(code="wh-north", kind="warehouse", can_ship=True, is_pickup_point=False)
    stock_receive_for(second, shop.shirt, 10)

    order = place(shop, lines=[(shop.shirt, 55)])

    assert [(line.source, line.quantity, line.position) for line in order.lines.all()] == [
        (shop.warehouse, 50, 1),
        (second, 5, 2),
    ]
    assert (reserved(shop.warehouse, shop.shirt), reserved(second, shop.shirt)) == (50, 5)


def test_pickup_at_a_store_with_the_stock_is_a_pickup_from_its_shelf(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.shirt, 5)])

    assert order.fulfilment_type == "pickup"
    line = order.lines.get()
    assert (line.source, line.transfer) == (shop.store, None)
    assert reserved(shop.store, shop.shirt) == 5
    assert Transfer.objects.count() == 0


def test_pickup_at_a_store_without_the_stock_is_shipped_to_the_store_by_transfer(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)])

    assert order.fulfilment_type == "ship_to_store"
    line = order.lines.get()
    assert line.source == shop.warehouse
    assert line.transfer is not None
    transfer = line.transfer
    assert (transfer.source, transfer.destination, transfer.status, transfer.reference) == (
        shop.warehouse,
        shop.store,
        TransferStatus.REQUESTED,
        order.number,
    )
    assert list(transfer.lines.values_list("variant_id", "quantity")) == [(shop.book.pk, 2)]
    assert reserved(shop.warehouse, shop.book) == 2
    assert reserved(shop.store, shop.book) == 0


def test_ship_to_store_makes_one_transfer_per_source(shop: Shop) -> None:
    scarf = VariantFactory.create(price=Decimal("15.00"))
    stock_receive_for(shop.other_store, scarf, 3)

    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 1), (scarf, 1), (shop.shirt, 7)])

    lines = list(order.lines.all())
    assert [(line.sku, line.source) for line in lines] == [
        (shop.book.sku, shop.warehouse),
        (scarf.sku, shop.other_store),
        (shop.shirt.sku, shop.warehouse),
    ]
    assert Transfer.objects.count() == 2
    assert lines[0].transfer == lines[2].transfer != lines[1].transfer
    assert sorted(lines[0].transfer.lines.values_list("variant_id", "quantity")) == sorted(  # type: ignore[union-attr]
        [(shop.book.pk, 1), (shop.shirt.pk, 7)]
    )
    assert lines[1].transfer.source == shop.other_store  # type: ignore[union-attr]


def test_a_pickup_split_between_the_shelf_and_a_transfer_keeps_both_sources(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.shirt, 52)])

    assert order.fulfilment_type == "ship_to_store"
    assert [(line.source, line.quantity, line.transfer is not None) for line in order.lines.all()] == [
        (shop.store, 5, False),
        (shop.warehouse, 47, True),
    ]
    assert (reserved(shop.store, shop.shirt), reserved(shop.warehouse, shop.shirt)) == (5, 47)


def test_a_locker_order_always_travels_by_transfer(shop: Shop) -> None:
    stock_receive_for(shop.locker, shop.book, 10)  # units left in a locker are never sold from it

    order = place(shop, fulfilment="locker", pickup=shop.locker, lines=[(shop.book, 1)])

    assert order.fulfilment_type == "locker"
    line = order.lines.get()
    assert line.source == shop.warehouse
    assert line.transfer is not None
    assert line.transfer.destination == shop.locker
    assert reserved(shop.locker, shop.book) == 0


def test_a_pickup_order_gets_a_pickup_secret_and_a_shipped_one_does_not(shop: Shop) -> None:
    pickup = place(shop, fulfilment="pickup", pickup=shop.store)
    shipped = place(shop)

    assert len(pickup.pickup_secret) == 32
    assert shipped.pickup_secret == ""


# --- Deadlines -------------------------------------------------------------------------------


def test_pay_now_order_is_due_after_the_payment_timeout(shop: Shop) -> None:
    before = timezone.now()
    order = place(shop)
    after = timezone.now()

    timeout = timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)
    assert order.payment_due_by is not None
    assert before + timeout <= order.payment_due_by <= after + timeout


def test_pay_at_pickup_order_is_due_at_the_end_of_the_days_after_it_is_ready(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 1)], payment_mode="at_pickup")

    assert order.ready_date == timezone.localdate() + timedelta(days=settings.TRANSFER_DEFAULT_LEAD_DAYS)
    last_day = order.ready_date + timedelta(days=settings.ORDER_PAY_AT_PICKUP_DAYS)
    assert order.payment_due_by == timezone.make_aware(datetime.combine(last_day, time.max))


@pytest.mark.parametrize("fulfilment", ["ship", "locker"])
def test_pay_at_pickup_is_refused_when_the_customer_does_not_come_to_a_store(
    shop: Shop, fulfilment: str, nothing_written: None
) -> None:
    pickup = shop.locker if fulfilment == "locker" else None

    error = refused(order_request(shop, fulfilment=fulfilment, pickup=pickup, payment_mode="at_pickup"), shop)

    assert "payment_mode" in error.fields


# --- Bad input writes nothing ------------------------------------------------------------------


def test_unknown_sku_is_refused(shop: Shop, nothing_written: None) -> None:
    request = replace(order_request(shop), lines=[LineRequest(sku="NOPE", quantity=1)])

    assert list(refused(request, shop).fields) == ["lines[0].sku"]


@pytest.mark.parametrize("what", ["variant", "product"])
def test_inactive_variant_is_refused(shop: Shop, what: str) -> None:
    variant = VariantFactory.create(
        is_active=what != "variant", product=ProductFactory.create(is_active=what != "product")
    )
    stock_receive_for(shop.warehouse, variant, 5)
    before = writes()

    error = refused(order_request(shop, lines=[(shop.shirt, 1), (variant, 1)]), shop)

    assert list(error.fields) == ["lines[1].sku"]
    assert writes() == before


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5, "2"])
def test_a_quantity_that_is_not_a_positive_whole_number_is_refused(
    shop: Shop, quantity: Any, nothing_written: None
) -> None:
    error = refused(order_request(shop, lines=[(shop.shirt, quantity)]), shop)

    assert list(error.fields) == ["lines[0].quantity"]


def test_an_order_without_lines_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, lines=[]), shop)

    assert "lines" in error.fields


def test_a_pickup_location_that_is_not_a_pickup_point_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, fulfilment="pickup", pickup=shop.warehouse), shop)

    assert "pickup_location" in error.fields


def test_an_inactive_pickup_location_is_refused(shop: Shop) -> None:
    closed = LocationFactory.create(code="closed", is_active=False)
    stock_receive_for(closed, shop.shirt, 5)
    before = writes()

    error = refused(order_request(shop, fulfilment="pickup", pickup=closed), shop)

    assert "pickup_location" in error.fields
    assert writes() == before


def test_a_locker_given_for_a_store_pickup_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, fulfilment="pickup", pickup=shop.locker), shop)

    assert "pickup_location" in error.fields


def test_a_store_given_for_a_locker_pickup_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, fulfilment="locker", pickup=shop.store), shop)

    assert "pickup_location" in error.fields


def test_a_pickup_without_a_location_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, fulfilment="pickup", pickup=None), shop)

    assert "pickup_location" in error.fields


def test_an_unknown_fulfilment_type_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, fulfilment="drone"), shop)

    assert "fulfilment_type" in error.fields


@pytest.mark.parametrize(
    "shipping",
    [None, Address(name="Ana", street="Calle Luna 3", city="Sevilla", postal_code="41001"), Address(street="  ")],
    ids=["none", "no-country", "blank"],
)
def test_a_shipped_order_without_a_complete_address_is_refused(
    shop: Shop, shipping: Address | None, nothing_written: None
) -> None:
    request = replace(order_request(shop), shipping=shipping)

    error = refused(request, shop)

    assert "shipping_address" in error.fields


def test_an_invalid_email_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, email="ana@"), shop)

    assert list(error.fields) == ["email"]


def test_an_invalid_phone_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, phone="12"), shop)

    assert list(error.fields) == ["phone"]


def test_contact_details_are_stored_normalised(shop: Shop) -> None:
    order = place(shop, email=" Ana@Example.COM ", phone="600 000 001")

    assert (order.email, order.phone) == ("ana@example.com", "+34600000001")


def test_an_invalid_tax_id_is_refused(shop: Shop, nothing_written: None) -> None:
    error = refused(order_request(shop, billing_tax_id="12345678A", billing=ADDRESS), shop)

    assert list(error.fields) == ["billing_tax_id"]


def test_a_tax_id_without_a_billing_address_is_refused(shop: Shop, nothing_written: None) -> None:
    request = order_request(shop, fulfilment="pickup", pickup=shop.store, billing_tax_id=VALID_NIFS[0])

    error = refused(request, shop)

    assert list(error.fields) == ["billing_address"]


def test_an_empty_idempotency_key_is_refused(shop: Shop, nothing_written: None) -> None:
    with pytest.raises(OrderInputError) as caught:
        place_request(shop, order_request(shop), key="  ")

    assert caught.value.code == "idempotency_key_required"


def test_out_of_stock_lists_the_lines_and_writes_nothing(shop: Shop, nothing_written: None) -> None:
    with pytest.raises(OutOfStock) as caught:
        place_request(shop, order_request(shop, lines=[(shop.book, 1), (shop.shirt, 51)]))

    assert [(line["sku"], line["requested"]) for line in caught.value.extra["lines"]] == [(shop.shirt.sku, 51)]


def _sold_after_each_plan(monkeypatch: pytest.MonkeyPatch, *sales: StockLine) -> list[int]:
    """After the order's n-th plan, another channel sells the n-th of these on its own connection
    and commits; later plans run untouched. The list counts the plans made."""
    original: Callable[..., Any] = placing_module._plan
    plans: list[int] = []

    def sell(line: StockLine) -> None:
        with transaction.atomic():
            stock_reserve(lines=[line], reference="other channel")

    def plan_then_sell(*args: Any, **kwargs: Any) -> Any:
        plans.append(1)
        plan = original(*args, **kwargs)
        if len(plans) <= len(sales):
            assert raised(run_at_once([lambda: sell(sales[len(plans) - 1])])) == []
        return plan

    monkeypatch.setattr(placing_module, "_plan", plan_then_sell)
    return plans


@pytest.mark.django_db(transaction=True)
def test_stock_taken_between_planning_and_reserving_is_reserved_at_another_location_that_has_it(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    north = LocationFactory.create(code="wh-north", kind="warehouse", can_ship=True, is_pickup_point=False)
    stock_receive_for(north, shop.shirt, 3)  # fewer than the central warehouse: planned second
    plans = _sold_after_each_plan(monkeypatch, StockLine(shop.warehouse, shop.shirt, 50))
    orders = Order.objects.count()

    order = place_request(shop, order_request(shop, lines=[(shop.book, 1), (shop.shirt, 1)])).order

    assert len(plans) == 2
    assert [(line.variant, line.source) for line in order.lines.order_by("position")] == [
        (shop.book, shop.warehouse),
        (shop.shirt, north),
    ]
    assert Order.objects.count() == orders + 1
    assert StockMovement.objects.filter(reference=order.number).count() == 2  # the lost attempt left nothing
    assert (reserved(north, shop.shirt), reserved(shop.warehouse, shop.book)) == (1, 1)
    assert reserved(shop.warehouse, shop.shirt) == 50  # the other channel's sale stands


@pytest.mark.django_db(transaction=True)
def test_stock_taken_between_planning_and_reserving_with_none_left_elsewhere_rolls_the_whole_order_back(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    plans = _sold_after_each_plan(monkeypatch, StockLine(shop.warehouse, shop.shirt, 50))  # the store's do not ship
    before = writes()

    with pytest.raises(OutOfStock):
        place_request(shop, order_request(shop, lines=[(shop.book, 1), (shop.shirt, 1)]))

    assert len(plans) == 2  # planned again, and nothing was left
    orders, lines, movements, transfers, units = writes()
    assert (orders, lines, transfers) == before[:2] + before[3:4]  # nothing of the order, its book line included
    assert (movements, units) == (before[2] + 1, before[4] + 50)  # the other channel's sale stands
    assert reserved(shop.warehouse, shop.book) == 0


@pytest.mark.django_db(transaction=True)
def test_a_reservation_lost_again_after_planning_again_is_out_of_stock(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    north = LocationFactory.create(code="wh-north", kind="warehouse", can_ship=True, is_pickup_point=False)
    south = LocationFactory.create(code="wh-south", kind="warehouse", can_ship=True, is_pickup_point=False)
    stock_receive_for(north, shop.shirt, 3)
    stock_receive_for(south, shop.shirt, 2)
    plans = _sold_after_each_plan(
        monkeypatch, StockLine(shop.warehouse, shop.shirt, 50), StockLine(north, shop.shirt, 3)
    )
    before = writes()

    with pytest.raises(OutOfStock):  # planned once more only, though the south warehouse still has two
        place_request(shop, order_request(shop, lines=[(shop.book, 1), (shop.shirt, 1)]))

    assert len(plans) == 2
    orders, lines, movements, transfers, units = writes()
    assert (orders, lines, transfers) == before[:2] + before[3:4]
    assert (movements, units) == (before[2] + 2, before[4] + 53)  # only the other channel's two sales


# --- Idempotency -------------------------------------------------------------------------------


def test_the_same_key_and_body_return_the_same_order(shop: Shop) -> None:
    first = place_request(shop, order_request(shop, lines=[(shop.shirt, 2)]), key="retry-me")
    before = writes()

    second = place_request(shop, order_request(shop, lines=[(shop.shirt, 2)]), key="retry-me")

    assert (first.created, second.created) == (True, False)
    assert second.order.pk == first.order.pk
    assert writes() == before


def test_a_replay_is_answered_before_its_customer_is_resolved(shop: Shop) -> None:
    identities = [{"kind": "email", "value": "eva@example.com"}]
    request = replace(order_request(shop, name="Eva"), customer=None, identities=identities)
    first = place_request(shop, request, key="retry-me")
    ContactPoint.objects.filter(normalised_value="eva@example.com").delete()  # the profile changed meanwhile
    customers, identities_before = Customer.objects.count(), ContactPoint.objects.count()

    second = place_request(shop, request, key="retry-me")

    assert (first.created, second.created) == (True, False)
    assert second.order.pk == first.order.pk
    assert (Customer.objects.count(), ContactPoint.objects.count()) == (customers, identities_before)


def test_a_new_order_resolves_its_customer_from_the_identities(shop: Shop) -> None:
    identities = [{"kind": "email", "value": "ANA@example.com"}, {"kind": "phone", "value": "+34 611 222 333"}]
    request = replace(order_request(shop), customer=None, identities=identities)

    order = place_request(shop, request).order

    assert order.customer == shop.customer
    assert order.client == shop.web.client
    assert shop.customer.contact_points.filter(kind="phone", normalised_value="+34611222333").exists()


def test_a_refused_order_resolves_no_customer(shop: Shop, nothing_written: None) -> None:
    request = replace(
        order_request(shop, lines=[(shop.shirt, 51)]), customer=None, identities=[{"kind": "email", "value": "x@y.es"}]
    )
    customers, identities_before = Customer.objects.count(), ContactPoint.objects.count()

    with pytest.raises(OutOfStock):
        place_request(shop, request)

    assert (Customer.objects.count(), ContactPoint.objects.count()) == (customers, identities_before)


def test_the_same_key_with_another_body_is_refused(shop: Shop) -> None:
    place_request(shop, order_request(shop), key="once", body={"lines": 1})
    before = writes()

    with pytest.raises(IdempotencyKeyReused):
        place_request(shop, order_request(shop, lines=[(shop.shirt, 3)]), key="once", body={"lines": 3})

    assert writes() == before


def test_two_clients_may_use_the_same_key(shop: Shop) -> None:
    other_client, _token = channel_client(Channel.APP, name="App")
    app = Actor(channel=Channel.APP, client=other_client)

    web = place_request(shop, order_request(shop), key="shared")
    from_app = place_request(shop, order_request(shop), key="shared", actor=app)

    assert from_app.created
    assert web.created
    assert from_app.order.pk != web.order.pk
    assert (web.order.channel, from_app.order.channel) == (Channel.WEB, Channel.APP)


def test_a_staff_user_and_a_client_may_use_the_same_key(shop: Shop, staff_user: Any) -> None:
    staff = Actor(channel=Channel.STORE, user=staff_user)

    web = place_request(shop, order_request(shop), key="shared")
    by_staff = place_request(shop, order_request(shop), key="shared", actor=staff)

    assert by_staff.created
    assert by_staff.order.pk != web.order.pk
    assert by_staff.order.placed_by_user == staff_user


# --- Invoicing details -------------------------------------------------------------------------


def test_a_tax_id_gets_a_full_invoice_for_the_billing_details(shop: Shop) -> None:
    billing = Address(name="Ana García SL", street="Calle Sol 1", city="Madrid", postal_code="28013", country="es")
    order = place(shop, billing_tax_id=" 12345678z ", billing=billing)
    assert (order.billing_tax_id, order.billing_name, order.billing_country) == ("12345678Z", "Ana García SL", "ES")

    order = order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="f1")

    invoice = order.invoice
    assert invoice is not None
    assert invoice.kind == DocumentKind.INVOICE
    assert (invoice.buyer_tax_id, invoice.buyer_name, invoice.buyer_street) == (
        "12345678Z",
        "Ana García SL",
        "Calle Sol 1",
    )


def test_without_a_tax_id_the_invoice_is_simplified(shop: Shop) -> None:
    order = place(shop)

    order = order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="s1")

    assert order.invoice is not None
    assert order.invoice.kind == DocumentKind.SIMPLIFIED


def test_a_placed_order_is_recorded_in_its_history_and_owes_a_notification(shop: Shop) -> None:
    order = place(shop)

    assert order.status == OrderStatus.PLACED
    assert [(c.event, c.status, c.client_id) for c in order.history.all()] == [
        ("placed", "placed", shop.web.client.pk)  # type: ignore[union-attr]
    ]
    assert list(order.notifications.values_list("kind", flat=True)) == ["order_placed"]
    assert order.customer.events.filter(kind="order_placed").count() == 1


# --- Cost ------------------------------------------------------------------------------------


def _many_variants(shop: Shop, count: int) -> list[Variant]:
    variants = [VariantFactory.create(price=Decimal("5.00") + i) for i in range(count)]
    stock_receive(location=shop.warehouse, lines=[(variant, 10) for variant in variants], reference="load")
    PromotionFactory.create(products=[variants[0].product, variants[-1].product])
    return variants


def _queries_to_place(shop: Shop, lines: list[tuple[Variant, int]], key: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        placement = place_request(shop, order_request(shop, lines=lines), key=key)
    assert placement.created
    assert placement.order.lines.count() == len(lines)
    return len(captured.captured_queries)


def test_placing_fifty_lines_costs_the_same_queries_as_one(shop: Shop) -> None:
    variants = _many_variants(shop, 50)
    place_request(shop, order_request(shop), key="warm-up")

    one = _queries_to_place(shop, [(variants[0], 1)], key="one")
    fifty = _queries_to_place(shop, [(variant, 2) for variant in variants], key="fifty")

    assert fifty == one


def test_sending_fifty_lines_to_a_store_costs_the_same_queries_as_one(shop: Shop) -> None:
    variants = _many_variants(shop, 50)
    place_request(shop, order_request(shop, fulfilment="pickup", pickup=shop.other_store), key="warm-up")

    def cost(lines: list[tuple[Variant, int]], key: str) -> int:
        request = order_request(shop, lines=lines, fulfilment="pickup", pickup=shop.other_store)
        with CaptureQueriesContext(connection) as captured:
            order = place_request(shop, request, key=key).order
        assert order.fulfilment_type == "ship_to_store"
        assert Transfer.objects.filter(reference=order.number).count() == 1
        return len(captured.captured_queries)

    assert cost([(variant, 1) for variant in variants], "fifty") == cost([(variants[0], 1)], "one")


def test_placing_fifty_lines_is_bounded(shop: Shop, django_assert_max_num_queries: Any) -> None:
    variants = _many_variants(shop, 50)
    place_request(shop, order_request(shop), key="warm-up")

    # 27: the notification owed is two rows, the order's and its outbox message; the delivery
    # methods of the order's kind are read once (none configured here: no zone, no rates).
    with django_assert_max_num_queries(27):
        place_request(shop, order_request(shop, lines=[(variant, 1) for variant in variants]), key="fifty")
