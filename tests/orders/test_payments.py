"""Paying an order: methods per channel, balances, partial payments, the invoice and points when covered."""

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.channels import Channel
from config.roles import Role
from customers.exceptions import InsufficientPoints, InsufficientStoreCredit
from customers.models import LoyaltyAccount, LoyaltyEntry, LoyaltyEntryKind, StoreCreditEntry
from customers.services.loyalty import loyalty_adjust, loyalty_points_value
from customers.services.store_credit import store_credit_balance, store_credit_grant
from invoicing.models import DocumentKind, Invoice
from orders.exceptions import OrderInputError, OrderStateError, PaymentMethodNotAllowed
from orders.models import Order, OrderStatus, Payment, PaymentKind
from orders.services import (
    Actor,
    order_cancel,
    order_make_ready,
    order_payment_add,
)
from tests.factories import VariantFactory, channel_client, staff_with_role, stock_receive_for
from tests.scenarios import Shop, place, staff_actor


def points(shop: Shop) -> int:
    account = LoyaltyAccount.objects.filter(customer=shop.customer).first()
    return account.balance if account else 0


def give_points(shop: Shop, amount: int) -> None:
    loyalty_adjust(customer=shop.customer, points=amount, reason="welcome gift")


def give_credit(shop: Shop, amount: str) -> None:
    store_credit_grant(customer=shop.customer, amount=Decimal(amount), reference="goodwill", reason="goodwill")


def pay(order: Order, actor: Actor, method: str, amount: str | Decimal | None = None, **kwargs: Any) -> Order:
    return order_payment_add(
        order=order,
        actor=actor,
        method=method,
        amount=Decimal(amount) if isinstance(amount, str) else amount,
        **kwargs,
    )


def unchanged(order: Order) -> tuple[Any, ...]:
    order.refresh_from_db()
    return (order.status, order.paid_amount, order.paid_at, order.invoice_id, order.payments.count())


# --- Methods -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["card", "paypal", "store_card"])
def test_a_provider_payment_records_its_capture_reference(shop: Shop, method: str) -> None:
    order = place(shop)

    order = pay(order, shop.web, method, order.total, provider_reference=f" {method}-123 ")

    payment = order.payments.get()
    assert (payment.kind, payment.method, payment.amount, payment.provider_reference) == (
        PaymentKind.CAPTURE,
        method,
        order.total,
        f"{method}-123",
    )
    assert (payment.channel, payment.client) == (Channel.WEB, shop.web.client)


@pytest.mark.parametrize("method", ["card", "paypal", "store_card"])
def test_a_provider_payment_without_its_capture_reference_is_refused(shop: Shop, method: str) -> None:
    order = place(shop)
    before = unchanged(order)

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, method, order.total, provider_reference="  ")

    assert list(caught.value.fields) == ["provider_reference"]
    assert unchanged(order) == before


@pytest.mark.parametrize("method", ["cash", "card_at_till"])
def test_the_till_takes_cash_and_cards(shop: Shop, method: str) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    order = pay(order, shop.store_actor, method, order.total)

    assert order.is_paid
    assert order.invoice_id is not None
    assert order.payments.get().method == method


@pytest.mark.parametrize("method", ["cash", "card_at_till"])
def test_the_web_shop_cannot_take_till_payments(shop: Shop, method: str) -> None:
    order = place(shop)
    before = unchanged(order)

    with pytest.raises(PaymentMethodNotAllowed):
        pay(order, shop.web, method, order.total)

    assert unchanged(order) == before


def test_a_locker_takes_no_payment(shop: Shop) -> None:
    order = place(shop, fulfilment="locker", pickup=shop.locker)  # at its own locker: the method is refused

    with pytest.raises(PaymentMethodNotAllowed):
        pay(order, shop.locker_actor, "card", order.total, provider_reference="lk-1")


def test_the_allowed_methods_come_from_the_settings(shop: Shop, settings: Any) -> None:
    settings.ORDER_PAYMENT_METHODS = {**settings.ORDER_PAYMENT_METHODS, "web": ["paypal"]}
    order = place(shop)

    with pytest.raises(PaymentMethodNotAllowed):
        pay(order, shop.web, "card", order.total, provider_reference="c-1")
    order = pay(order, shop.web, "paypal", order.total, provider_reference="pp-1")

    assert order.is_paid


def test_an_unknown_method_is_refused(shop: Shop) -> None:
    order = place(shop)

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, "bitcoin", order.total)

    assert list(caught.value.fields) == ["method"]


# --- Store credit and loyalty points ------------------------------------------------------------


def test_store_credit_is_spent_from_the_ledger(shop: Shop) -> None:
    give_credit(shop, "30.00")
    order = place(shop)

    order = pay(order, shop.web, "store_credit", order.total)

    assert order.is_paid
    assert store_credit_balance(customer=shop.customer) == Decimal("10.05")
    spent = StoreCreditEntry.objects.filter(amount__lt=0).get()
    assert (spent.amount, spent.reference) == (Decimal("-19.95"), order.number)


def test_store_credit_beyond_the_balance_is_refused(shop: Shop) -> None:
    give_credit(shop, "10.00")
    order = place(shop)
    before = unchanged(order)

    with pytest.raises(InsufficientStoreCredit):
        pay(order, shop.web, "store_credit", "10.01")

    assert unchanged(order) == before
    assert store_credit_balance(customer=shop.customer) == Decimal("10.00")


def test_loyalty_points_pay_their_value(shop: Shop) -> None:
    give_points(shop, 800)
    order = place(shop)

    order = pay(order, shop.web, "loyalty_points", points=500)

    payment = order.payments.get()
    assert (payment.points, payment.amount) == (500, loyalty_points_value(500))
    assert order.paid_amount == Decimal("5.00")
    assert points(shop) == 300
    assert LoyaltyEntry.objects.filter(kind=LoyaltyEntryKind.REDEEM, reference=order.number, points=-500).exists()


def test_loyalty_points_ignore_an_amount_sent_with_them(shop: Shop) -> None:
    give_points(shop, 800)
    order = place(shop)

    order = pay(order, shop.web, "loyalty_points", "19.95", points=100)

    assert order.paid_amount == Decimal("1.00")


@pytest.mark.parametrize("bad", [None, 0, -5, True])
def test_loyalty_points_need_a_positive_number_of_points(shop: Shop, bad: Any) -> None:
    give_points(shop, 800)
    order = place(shop)

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, "loyalty_points", points=bad)

    assert list(caught.value.fields) == ["points"]
    assert points(shop) == 800


def test_loyalty_points_beyond_the_balance_are_refused(shop: Shop) -> None:
    give_points(shop, 100)
    order = place(shop)
    before = unchanged(order)

    with pytest.raises(InsufficientPoints):
        pay(order, shop.web, "loyalty_points", points=101)

    assert unchanged(order) == before
    assert points(shop) == 100


def test_loyalty_points_worth_more_than_due_are_refused(shop: Shop) -> None:
    give_points(shop, 5000)
    order = place(shop)

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, "loyalty_points", points=1996)

    assert caught.value.code == "payment_exceeds_due"
    assert points(shop) == 5000


# --- Several payments, and what covering the total does -----------------------------------------


def test_a_partial_payment_leaves_the_order_placed_and_uninvoiced(shop: Shop) -> None:
    order = place(shop)

    order = pay(order, shop.web, "card", "5.00", provider_reference="c-1")

    assert (order.status, order.paid_amount, order.paid_at, order.invoice_id) == (
        OrderStatus.PLACED,
        Decimal("5.00"),
        None,
        None,
    )
    assert Invoice.objects.count() == 0
    assert points(shop) == 0


def test_several_payments_in_several_methods_pay_the_order(shop: Shop) -> None:
    give_credit(shop, "4.00")
    give_points(shop, 300)
    order = place(shop)

    order = pay(order, shop.web, "store_credit", "4.00")
    order = pay(order, shop.web, "loyalty_points", points=300)
    order = pay(order, shop.web, "paypal", "12.95", provider_reference="pp-1")

    assert [(p.method, p.amount) for p in order.payments.all()] == [
        ("store_credit", Decimal("4.00")),
        ("loyalty_points", Decimal("3.00")),
        ("paypal", Decimal("12.95")),
    ]
    assert order.paid_amount == order.total
    assert order.status == OrderStatus.PAID
    assert order.is_paid
    assert Invoice.objects.filter(source_reference=order.number).count() == 1


def test_the_covering_payment_issues_the_invoice_for_the_order(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 2), (shop.book, 1)])

    order = pay(order, shop.web, "card", order.total, provider_reference="c-1")

    invoice = Order.objects.get(pk=order.pk).invoice
    assert invoice is not None
    assert invoice.number.startswith("T")
    assert invoice.kind == DocumentKind.SIMPLIFIED
    assert (invoice.payable_total, invoice.paid_amount, invoice.tax_total) == (
        order.total,
        order.total,
        order.tax_total,
    )
    assert invoice.customer == shop.customer
    assert invoice.source_reference == order.number
    assert invoice.issued_by == shop.web.client
    assert [(line.sku, line.quantity) for line in invoice.lines.order_by("position")] == [
        (shop.shirt.sku, Decimal(2)),
        (shop.book.sku, Decimal(1)),
    ]
    assert [c.event for c in order.history.all()] == ["placed", "payment", "paid"]


def test_a_line_split_across_locations_is_one_line_on_the_invoice(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.shirt, 52)])
    assert order.lines.count() == 2

    order = pay(order, shop.web, "card", order.total, provider_reference="c-1")

    assert order.invoice is not None
    assert [(line.sku, line.quantity) for line in order.invoice.lines.all()] == [(shop.shirt.sku, Decimal(52))]


def test_paying_earns_loyalty_points_on_the_whole_total(shop: Shop) -> None:
    order = place(shop, lines=[(shop.shirt, 2)])

    pay(order, shop.web, "card", "39.90", provider_reference="c-1")

    assert points(shop) == 39
    earned = LoyaltyEntry.objects.get(kind=LoyaltyEntryKind.EARN)
    assert (earned.points, earned.reference) == (39, order.number)


def test_no_points_are_earned_on_what_was_paid_with_points_or_store_credit(shop: Shop) -> None:
    give_credit(shop, "10.00")
    give_points(shop, 1000)
    order = place(shop, lines=[(shop.shirt, 2)])

    order = pay(order, shop.web, "store_credit", "10.00")
    order = pay(order, shop.web, "loyalty_points", points=1000)
    order = pay(order, shop.web, "card", "19.90", provider_reference="c-1")

    assert LoyaltyEntry.objects.get(kind=LoyaltyEntryKind.EARN).points == 19
    assert points(shop) == 19


def test_an_order_paid_entirely_from_balances_earns_nothing(shop: Shop) -> None:
    give_credit(shop, "19.95")
    order = place(shop)

    pay(order, shop.web, "store_credit", "19.95")

    assert not LoyaltyEntry.objects.filter(kind=LoyaltyEntryKind.EARN).exists()


def test_a_pay_at_pickup_order_paid_at_the_till_stays_ready(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    order = order_make_ready(order=order, actor=shop.store_actor)

    order = pay(order, shop.store_actor, "cash", order.total)

    assert (order.status, order.is_paid) == (OrderStatus.READY, True)
    assert order.invoice is not None


# --- Refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["19.96", "100.00"])
def test_paying_more_than_is_due_is_refused(shop: Shop, amount: str) -> None:
    order = place(shop)
    before = unchanged(order)

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, "card", amount, provider_reference="c-1")

    assert caught.value.code == "payment_exceeds_due"
    assert unchanged(order) == before


def test_paying_more_than_what_is_left_after_a_partial_payment_is_refused(shop: Shop) -> None:
    order = place(shop)
    pay(order, shop.web, "card", "10.00", provider_reference="c-1")

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, "card", "10.00", provider_reference="c-2")

    assert caught.value.extra == {"amount_due": "9.95"}


@pytest.mark.parametrize("amount", [None, "0", "-1.00", "1.001"])
def test_an_amount_that_is_not_positive_money_is_refused(shop: Shop, amount: str | None) -> None:
    order = place(shop)

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, "card", amount, provider_reference="c-1")

    assert list(caught.value.fields) == ["amount"]


def test_a_capture_reported_twice_is_recorded_once(shop: Shop) -> None:
    order = place(shop)
    pay(order, shop.web, "card", "5.00", provider_reference="c-1")

    again = pay(order, shop.web, "card", "5.00", provider_reference="c-1")

    assert again.paid_amount == Decimal("5.00")
    assert Payment.objects.count() == 1


def test_a_covering_capture_reported_twice_answers_with_the_paid_order(shop: Shop) -> None:
    order = place(shop)
    pay(order, shop.web, "card", order.total, provider_reference="c-1")

    again = pay(order, shop.web, "card", order.total, provider_reference="c-1")

    assert again.is_paid
    assert (Payment.objects.count(), Invoice.objects.count()) == (1, 1)


def test_a_capture_reported_for_another_order_is_refused(shop: Shop) -> None:
    first, second = place(shop), place(shop)
    pay(first, shop.web, "card", "5.00", provider_reference="c-1")
    before = unchanged(second)

    with pytest.raises(OrderInputError) as caught:
        pay(second, shop.web, "card", "5.00", provider_reference="c-1")

    assert caught.value.code == "duplicate_capture"
    assert unchanged(second) == before


def test_a_capture_reported_again_with_another_amount_is_refused(shop: Shop) -> None:
    order = place(shop)
    pay(order, shop.web, "card", "5.00", provider_reference="c-1")

    with pytest.raises(OrderInputError) as caught:
        pay(order, shop.web, "card", "6.00", provider_reference="c-1")

    assert caught.value.code == "duplicate_capture"
    assert Payment.objects.count() == 1


def test_the_same_reference_from_two_providers_is_two_captures(shop: Shop) -> None:
    order = place(shop)

    pay(order, shop.web, "card", "5.00", provider_reference="ref-1")
    order = pay(order, shop.web, "paypal", "5.00", provider_reference="ref-1")

    assert order.paid_amount == Decimal("10.00")


def test_paying_a_cancelled_order_is_refused(shop: Shop) -> None:
    order = order_cancel(order=place(shop), actor=shop.web)

    with pytest.raises(OrderStateError):
        pay(order, shop.web, "card", order.total, provider_reference="c-1")

    assert Payment.objects.count() == 0


def test_paying_a_paid_order_is_refused(shop: Shop) -> None:
    order = place(shop)
    pay(order, shop.web, "card", order.total, provider_reference="c-1")

    with pytest.raises(OrderStateError):
        pay(order, shop.web, "card", "1.00", provider_reference="c-2")

    assert Payment.objects.count() == 1


def test_a_paid_order_says_nothing_is_due_before_judging_the_method(shop: Shop) -> None:
    order = place(shop)
    pay(order, shop.web, "card", order.total, provider_reference="c-1")

    with pytest.raises(OrderStateError):
        pay(order, shop.web, "cash", "1.00")


# --- Who reports a payment, and for whom the invoice is issued ----------------------------------


def test_the_invoice_is_issued_for_the_client_the_order_belongs_to_not_the_payer(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    order = pay(order, shop.store_actor, "cash", order.total)  # paid at the till, placed online

    assert order.invoice is not None
    assert order.invoice.issued_by == shop.web.client


def test_an_order_placed_by_staff_is_invoiced_for_no_client(shop: Shop) -> None:
    clerk = Actor(channel=Channel.STORE, user=staff_with_role(Role.STORE_STAFF, shop.store))
    order = place(shop, actor=clerk)

    order = pay(order, clerk, "card_at_till", order.total)

    assert order.invoice is not None
    assert order.invoice.issued_by is None


def test_store_staff_take_payments_for_orders_picked_up_at_their_store(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    order = pay(order, staff_actor(Role.STORE_STAFF, shop.store), "cash", order.total)

    assert order.is_paid


def test_store_staff_take_no_payment_for_orders_picked_up_elsewhere(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    with pytest.raises(PermissionDenied):
        pay(order, staff_actor(Role.STORE_STAFF, shop.other_store), "cash", order.total)

    assert unchanged(order)[1] == Decimal(0)


def test_store_staff_take_payment_for_a_parcel_they_placed_at_the_counter(shop: Shop) -> None:
    clerk = staff_actor(Role.STORE_STAFF, shop.store)
    order = place(shop, actor=clerk)  # shipped home from the warehouse

    order = pay(order, clerk, "cash", order.total)

    assert order.is_paid


def test_store_staff_take_no_payment_for_a_parcel_placed_online(shop: Shop) -> None:
    order = place(shop)

    with pytest.raises(PermissionDenied):
        pay(order, staff_actor(Role.STORE_STAFF, shop.store), "cash", order.total)

    assert unchanged(order)[1] == Decimal(0)


def test_staff_reaching_every_order_take_payments_for_any_order(shop: Shop) -> None:
    order = place(shop)

    order = pay(order, staff_actor(Role.MANAGER), "card_at_till", order.total)

    assert order.is_paid


# A channel credential records payments for the orders it placed, or as the till where the customer
# pays at pickup; reaching an order (a first party reaches every one) is not enough.


def test_a_till_records_no_payment_for_an_order_picked_up_at_another_store(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.other_store, payment_mode="at_pickup")

    with pytest.raises(PermissionDenied):
        pay(order, shop.store_actor, "cash", order.total)

    assert unchanged(order)[1] == Decimal(0)


def test_a_till_records_no_payment_for_a_parcel_placed_online(shop: Shop) -> None:
    order = place(shop)

    with pytest.raises(PermissionDenied):
        pay(order, shop.store_actor, "card_at_till", order.total)

    assert unchanged(order)[1] == Decimal(0)


def test_a_client_reaching_every_order_records_no_payment_for_an_order_it_did_not_place(shop: Shop) -> None:
    app, _token = channel_client(Channel.APP, name="App")
    order = place(shop)

    with pytest.raises(PermissionDenied):
        pay(order, Actor(channel=Channel.APP, client=app), "card", order.total, provider_reference="app-1")

    assert unchanged(order)[1] == Decimal(0)


def test_the_till_of_the_pickup_store_records_the_payment_of_an_order_placed_online(shop: Shop) -> None:
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")

    order = pay(order, shop.store_actor, "cash", order.total)

    assert order.is_paid


def test_a_till_records_the_payment_of_a_parcel_it_placed(shop: Shop) -> None:
    order = place(shop, actor=shop.store_actor)  # sold at the counter, shipped home from the warehouse

    order = pay(order, shop.store_actor, "card_at_till", order.total)

    assert order.is_paid


# --- Cost --------------------------------------------------------------------------------------


def _queries_to_pay(order: Order, reference: str, shop: Shop) -> int:
    with CaptureQueriesContext(connection) as captured:
        pay(order, shop.web, "card", order.total, provider_reference=reference)
    assert Order.objects.get(pk=order.pk).is_paid
    return len(captured.captured_queries)


def test_the_covering_payment_costs_the_same_whatever_the_number_of_lines(shop: Shop) -> None:
    variants = [VariantFactory.create() for _ in range(20)]
    for variant in variants:
        stock_receive_for(shop.warehouse, variant, 5)
    pay(place(shop), shop.web, "card", "19.95", provider_reference="warm-up")  # the series and the points account

    one = _queries_to_pay(place(shop), "one", shop)
    twenty = _queries_to_pay(place(shop, lines=[(variant, 1) for variant in variants]), "twenty", shop)

    assert twenty == one


def test_the_covering_payment_is_bounded(shop: Shop, django_assert_max_num_queries: Any) -> None:
    order = place(shop, lines=[(shop.shirt, 2), (shop.book, 1)])

    # 40 the first time: the series and the points account; 3 plan the parcels (lines, parcels, their lines).
    with django_assert_max_num_queries(45):
        pay(order, shop.web, "card", order.total, provider_reference="c-1")
