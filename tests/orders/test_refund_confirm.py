"""Refunds that happen (orders.services.refunds, steps 3-4): handed over, confirmed, retried, settled by hand.

A provider's refund is pending until the integration that took the money confirms it through
the API (idempotent: the same confirmation again answers the same; another amount or another
outcome changes nothing); cash is confirmed by the till. When it succeeds the ledger gets its row,
the order's refunded amount grows and the customer is told; staff hand refunds over again or
settle them by hand, with a reason, in the order's history.
"""

import importlib
import pkgutil
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from config.models import OutboxKind, OutboxMessage
from config.outbox import outbox_send, webhook_subscription_create
from config.roles import Role
from customers.services import store_credit_grant
from orders import migrations as orders_migrations
from orders.exceptions import OrderInputError, OrderStateError, RefundNotFound, RefundSettled
from orders.models import (
    NotificationKind,
    Order,
    OrderNotification,
    OrderStatusChange,
    Payment,
    PaymentKind,
    Refund,
    RefundStatus,
)
from orders.services import (
    Actor,
    order_cancel,
    order_payment_add,
    order_refunds_plan,
    refund_confirm,
    refund_retry,
    refund_settle,
)
from tests.api import staff_api, token_api
from tests.concurrency import run_at_once
from tests.factories import channel_client
from tests.scenarios import Shop, pay, place, staff_actor

REFUND_HOOKS = "https://web.example.com/hooks/refunds"


def subscribe(shop: Shop) -> None:
    assert shop.web.client is not None
    webhook_subscription_create(client=shop.web.client, event="order.refund", url=REFUND_HOOKS)


def refund_webhooks() -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(kind=OutboxKind.WEBHOOK, event="order.refund")


def cancelled_by_card(shop: Shop) -> tuple[Order, Refund]:
    """An order paid by card through the web shop, then cancelled: its refund is pending."""
    order = order_cancel(order=pay(shop, place(shop), reference="ch_1"), actor=shop.web)
    return order, order.refunds.get()


def confirm_url(order: Order, refund: Refund) -> str:
    return f"/api/v1/orders/{order.number}/refunds/{refund.pk}/confirm/"


def succeeded(refund: Refund, **body: Any) -> dict[str, Any]:
    return {"status": "succeeded", "amount": str(refund.amount), "provider_reference": "re_1", **body}


def state(order: Order) -> tuple[Any, ...]:
    """Everything a confirmation may change: the refunds, the ledger, the order, its history and notices."""
    return (
        list(Refund.objects.filter(order=order).order_by("id").values_list("status", "provider_reference")),
        Payment.objects.filter(order=order, kind=PaymentKind.REFUND).count(),
        Order.objects.get(pk=order.pk).refunded_amount,
        OrderStatusChange.objects.filter(order=order).count(),
        OrderNotification.objects.filter(order=order).count(),
        OutboxMessage.objects.count(),
    )


def refund_notices(order: Order) -> QuerySet[OrderNotification]:
    return OrderNotification.objects.filter(order=order, kind=NotificationKind.REFUND)


# --- Handed over -----------------------------------------------------------------------------


def test_cancelling_a_card_paid_order_leaves_a_pending_refund_and_tells_the_integration(shop: Shop) -> None:
    subscribe(shop)

    order, refund = cancelled_by_card(shop)

    assert (refund.status, refund.amount, refund.client) == ("pending", order.total, shop.web.client)
    assert order.refunded_amount == 0
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()
    message = refund_webhooks().get()
    assert message.target == REFUND_HOOKS
    assert message.body["refund"]["id"] == refund.pk
    assert not refund_notices(order).exists()  # no money on its way yet


# --- Confirmed through the API -----------------------------------------------------------------


def test_the_integration_confirms_a_refund_succeeded(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)

    response = token_api(shop.web_token).post(confirm_url(order, refund), succeeded(refund), format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["provider_reference"]) == ("succeeded", "re_1")
    refund.refresh_from_db()
    assert (refund.status, refund.confirmed_by_client, refund.provider_reference) == (
        "succeeded",
        shop.web.client,
        "re_1",
    )
    ledger = Payment.objects.get(kind=PaymentKind.REFUND)
    assert (ledger.refund_of, ledger.amount, ledger.provider_reference, refund.payment) == (
        refund.capture,
        order.total,
        "re_1",
        ledger,
    )
    assert Order.objects.get(pk=order.pk).refunded_amount == order.total
    assert order.history.filter(event="refund_succeeded").count() == 1


def test_the_customer_is_told_when_the_money_is_on_its_way(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)

    refund_confirm(order=order, refund_id=refund.pk, actor=shop.web, status="succeeded", amount=refund.amount,
                   provider_reference="re_1")  # fmt: skip

    notice = refund_notices(order).get()
    assert notice.refund == refund
    assert notice.message.body == {"order": order.number, "notification": "refund", "refund": refund.pk}


def test_the_integration_confirms_a_refund_failed(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)

    response = token_api(shop.web_token).post(
        confirm_url(order, refund),
        {"status": "failed", "amount": str(refund.amount), "failure_reason": "card expired"},
        format="json",
    )

    assert response.status_code == 200, response.content
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason, refund.payment) == ("failed", "card expired", None)
    assert Order.objects.get(pk=order.pk).refunded_amount == 0
    assert not Payment.objects.filter(kind=PaymentKind.REFUND).exists()
    assert not refund_notices(order).exists()
    assert [line.amount for line in order_refunds_plan(order=order)] == [order.total]  # owed again
    assert order.history.get(event="refund_failed").note.endswith("card expired")


def test_the_same_confirmation_twice_answers_the_same_and_changes_nothing(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    api = token_api(shop.web_token)
    first = api.post(confirm_url(order, refund), succeeded(refund), format="json")
    before = state(order)

    again = api.post(confirm_url(order, refund), succeeded(refund), format="json")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert state(order) == before


@pytest.mark.parametrize("amount", ["19.94", "19.96", "0.01"])
def test_another_amount_is_refused_and_nothing_changes(shop: Shop, amount: str) -> None:
    order, refund = cancelled_by_card(shop)
    before = state(order)

    response = token_api(shop.web_token).post(
        confirm_url(order, refund), succeeded(refund, amount=amount), format="json"
    )

    assert response.status_code == 400
    assert (response.json()["error"]["code"], response.json()["error"]["amount"]) == ("refund_amount_mismatch", "19.95")
    assert state(order) == before


def test_another_amount_after_it_succeeded_is_refused_too(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    api = token_api(shop.web_token)
    api.post(confirm_url(order, refund), succeeded(refund), format="json")
    before = state(order)

    response = api.post(confirm_url(order, refund), succeeded(refund, amount="1.00"), format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "refund_amount_mismatch")
    assert state(order) == before


@pytest.mark.parametrize(
    "second",
    [
        {"status": "failed"},
        {"status": "succeeded", "provider_reference": "re_other"},
    ],
)
def test_another_outcome_once_settled_is_a_conflict_and_nothing_changes(shop: Shop, second: dict[str, str]) -> None:
    order, refund = cancelled_by_card(shop)
    api = token_api(shop.web_token)
    api.post(confirm_url(order, refund), succeeded(refund), format="json")
    before = state(order)

    response = api.post(confirm_url(order, refund), succeeded(refund, **second), format="json")

    assert response.status_code == 409
    assert (response.json()["error"]["code"], response.json()["error"]["status"]) == ("refund_settled", "succeeded")
    assert state(order) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "maybe"}, "status"),
        ({"status": "pending"}, "status"),
        ({"provider_reference": ""}, "provider_reference"),
        ({"amount": "lots"}, "amount"),
    ],
)
def test_a_confirmation_that_says_nothing_clear_is_refused(shop: Shop, body: dict[str, str], field: str) -> None:
    order, refund = cancelled_by_card(shop)
    before = state(order)

    response = token_api(shop.web_token).post(confirm_url(order, refund), succeeded(refund, **body), format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert state(order) == before


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_are_one(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    confirm = partial(
        refund_confirm,
        order=order,
        refund_id=refund.pk,
        actor=shop.web,
        status="succeeded",
        amount=refund.amount,
        provider_reference="re_1",
    )

    results = run_at_once([confirm, confirm, confirm])

    assert [getattr(result, "status", result) for result in results] == ["succeeded"] * 3
    assert Payment.objects.filter(kind=PaymentKind.REFUND).count() == 1
    assert Order.objects.get(pk=order.pk).refunded_amount == order.total
    assert refund_notices(order).count() == 1
    assert order.history.filter(event="refund_succeeded").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_success_and_a_failure_at_once_leave_one_outcome(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    common: dict[str, Any] = {"order": order, "refund_id": refund.pk, "actor": shop.web, "amount": refund.amount}

    results = run_at_once(
        [
            partial(refund_confirm, status="succeeded", provider_reference="re_1", **common),
            partial(refund_confirm, status="failed", failure_reason="declined", **common),
        ]
    )

    refused = [result for result in results if isinstance(result, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], RefundSettled)
    refund.refresh_from_db()
    ledger = Payment.objects.filter(kind=PaymentKind.REFUND).count()
    assert ledger == (1 if refund.status == RefundStatus.SUCCEEDED else 0)
    assert Order.objects.get(pk=order.pk).refunded_amount == (order.total if ledger else 0)


# --- Who confirms ------------------------------------------------------------------------------


def cancelled_paid_in_cash(shop: Shop) -> tuple[Order, Refund]:
    """A pickup at the Sol store paid in cash at its till, then cancelled: the till gives the cash back."""
    order = place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup")
    order = order_payment_add(order=order, actor=shop.store_actor, method="cash", amount=order.total)
    order = order_cancel(order=order, actor=shop.store_actor)
    return order, order.refunds.get()


def test_the_till_confirms_the_cash_it_gave_back(shop: Shop) -> None:
    order, refund = cancelled_paid_in_cash(shop)
    assert (refund.method, refund.status) == ("cash", "pending")

    response = token_api(shop.store_token).post(
        confirm_url(order, refund), {"status": "succeeded", "amount": str(refund.amount)}, format="json"
    )

    assert response.status_code == 200, response.content
    refund.refresh_from_db()
    assert (refund.status, refund.confirmed_by_client) == ("succeeded", shop.store_actor.client)
    assert Order.objects.get(pk=order.pk).refunded_amount == order.total


def test_staff_at_the_pickup_store_confirm_the_cash_given_back(shop: Shop) -> None:
    order, refund = cancelled_paid_in_cash(shop)
    clerk = staff_actor(Role.STORE_STAFF, shop.store)

    response = staff_api(clerk.user).post(
        confirm_url(order, refund), {"status": "succeeded", "amount": str(refund.amount)}, format="json"
    )

    assert response.status_code == 200, response.content
    refund.refresh_from_db()
    assert (refund.status, refund.confirmed_by_user) == ("succeeded", clerk.user)


def test_another_credential_is_told_the_refund_does_not_exist(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    # A till of the same retailer (it reaches the order) did not take the card's money.
    _other, other_token = channel_client("store", name="Till Diagonal", locations=[shop.other_store])
    before = state(order)

    for token in (shop.store_token, other_token):
        response = token_api(token).post(confirm_url(order, refund), succeeded(refund), format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (404, "refund_not_found"), token

    assert state(order) == before


def test_the_web_shop_does_not_confirm_a_tills_cash(shop: Shop) -> None:
    order, refund = cancelled_paid_in_cash(shop)

    response = token_api(shop.web_token).post(
        confirm_url(order, refund), {"status": "succeeded", "amount": str(refund.amount)}, format="json"
    )

    assert (response.status_code, response.json()["error"]["code"]) == (404, "refund_not_found")
    assert Refund.objects.get().status == "pending"


def test_a_refund_of_another_order_is_not_found(shop: Shop) -> None:
    _order, refund = cancelled_by_card(shop)
    other = place(shop)

    response = token_api(shop.web_token).post(confirm_url(other, refund), succeeded(refund), format="json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "refund_not_found")
    assert Refund.objects.get().status == "pending"


def test_staff_do_not_confirm_a_providers_refund(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    manager = staff_actor(Role.MANAGER)

    with pytest.raises(PermissionDenied):
        refund_confirm(order=order, refund_id=refund.pk, actor=manager, status="succeeded", amount=refund.amount,
                       provider_reference="re_1")  # fmt: skip

    assert Refund.objects.get().status == "pending"


def test_confirming_is_a_bounded_number_of_queries(shop: Shop, django_assert_max_num_queries: Any) -> None:
    order, refund = cancelled_by_card(shop)
    api = token_api(shop.web_token)
    api.get(f"/api/v1/orders/{order.number}/")  # the credential's session warmed up

    with django_assert_max_num_queries(13):
        response = api.post(confirm_url(order, refund), succeeded(refund), format="json")

    assert response.status_code == 200


# --- Staff: hand over again, settle by hand ----------------------------------------------------


def accountant() -> Actor:
    return staff_actor(Role.ACCOUNTANT)


def test_a_pending_refund_is_handed_over_again(shop: Shop) -> None:
    subscribe(shop)
    order, refund = cancelled_by_card(shop)
    staff = accountant()

    again = refund_retry(refund=refund, actor=staff)

    assert again == refund
    assert refund_webhooks().count() == 2
    change = order.history.get(event="refund_handed_over")
    assert change.user == staff.user


def test_a_pending_refund_nobody_takes_is_not_handed_over(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)  # the web shop has no refund subscription
    before = state(order)

    with pytest.raises(OrderStateError) as refused:
        refund_retry(refund=refund, actor=accountant())

    assert refused.value.code == "refund_nobody_to_hand_over"
    assert state(order) == before


def test_a_failed_refund_is_owed_again_as_a_new_refund(shop: Shop) -> None:
    subscribe(shop)
    order, refund = cancelled_by_card(shop)
    refund_confirm(order=order, refund_id=refund.pk, actor=shop.web, status="failed", amount=refund.amount)

    again = refund_retry(refund=refund, actor=accountant())

    assert (again.status, again.amount, again.retry_of, again.client) == (
        "pending",
        refund.amount,
        refund,
        shop.web.client,
    )
    assert refund_webhooks().order_by("id").last().body["refund"]["id"] == again.pk  # type: ignore[union-attr]
    assert order_refunds_plan(order=order) == []
    with pytest.raises(RefundSettled):  # once
        refund_retry(refund=refund, actor=accountant())


def test_a_succeeded_refund_is_not_handed_over_again(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    refund_confirm(order=order, refund_id=refund.pk, actor=shop.web, status="succeeded", amount=refund.amount,
                   provider_reference="re_1")  # fmt: skip
    before = state(order)

    with pytest.raises(RefundSettled):
        refund_retry(refund=refund, actor=accountant())

    assert state(order) == before


@pytest.mark.parametrize("outcome", [True, False])
def test_staff_settle_a_pending_refund_by_hand_with_a_reason(shop: Shop, outcome: bool) -> None:
    order, refund = cancelled_by_card(shop)
    staff = accountant()

    refund_settle(refund=refund, actor=staff, succeeded=outcome, reason="Paid back by bank transfer")

    refund.refresh_from_db()
    assert (refund.status, refund.settled_reason, refund.confirmed_by_user) == (
        "succeeded" if outcome else "failed",
        "Paid back by bank transfer",
        staff.user,
    )
    change = order.history.get(event="refund_succeeded" if outcome else "refund_failed")
    assert (change.user, "Paid back by bank transfer" in change.note) == (staff.user, True)
    assert Order.objects.get(pk=order.pk).refunded_amount == (order.total if outcome else 0)
    assert refund_notices(order).count() == int(outcome)


def test_settling_by_hand_needs_a_reason(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    before = state(order)

    with pytest.raises(OrderInputError) as refused:
        refund_settle(refund=refund, actor=accountant(), succeeded=True, reason="  ")

    assert (refused.value.code, list(refused.value.fields)) == ("invalid_refund", ["reason"])
    assert state(order) == before


def test_a_settled_refund_is_not_settled_again(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    refund_settle(refund=refund, actor=accountant(), succeeded=False, reason="Card closed")
    before = state(order)

    with pytest.raises(RefundSettled):
        refund_settle(refund=refund, actor=accountant(), succeeded=True, reason="Changed my mind")

    assert state(order) == before


def test_staff_without_the_permission_do_not_settle(shop: Shop) -> None:
    _order, refund = cancelled_by_card(shop)

    with pytest.raises(PermissionDenied):
        refund_settle(refund=refund, actor=staff_actor(Role.STORE_MANAGER, shop.store), succeeded=True, reason="x")

    assert Refund.objects.get().status == "pending"


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD])
def test_customer_service_does_not_settle_money_by_hand(shop: Shop, role: Role) -> None:
    _order, refund = cancelled_by_card(shop)

    with pytest.raises(PermissionDenied):
        refund_settle(refund=refund, actor=staff_actor(role), succeeded=True, reason="x")

    assert Refund.objects.get().status == "pending"


def handed_over_by_card(shop: Shop) -> tuple[Order, Refund]:
    """Cancelled with the web shop subscribed: its card refund went to the integration (`order.refund`)."""
    subscribe(shop)
    order, refund = cancelled_by_card(shop)
    assert refund.handed_over_at is not None
    return order, refund


def test_a_handed_over_refund_is_not_settled_as_paid_without_the_providers_reference(shop: Shop) -> None:
    order, refund = handed_over_by_card(shop)
    before = state(order)

    with pytest.raises(OrderInputError) as refused:
        refund_settle(refund=refund, actor=accountant(), succeeded=True, reason="The bank says it went back")

    assert (refused.value.code, list(refused.value.fields)) == ("invalid_refund", ["provider_reference"])
    assert state(order) == before


def test_a_handed_over_refund_settled_with_the_providers_reference_keeps_it_on_the_ledger(shop: Shop) -> None:
    order, refund = handed_over_by_card(shop)

    refund_settle(
        refund=refund, actor=accountant(), succeeded=True, reason="Seen in the dashboard", provider_reference="re_9"
    )

    payment = Payment.objects.get(order=order, kind=PaymentKind.REFUND)
    assert (Refund.objects.get(pk=refund.pk).provider_reference, payment.provider_reference) == ("re_9", "re_9")
    # The integration's late confirmation of the same refund answers it as it is: nothing twice.
    refund_confirm(order=order, refund_id=refund.pk, actor=shop.web, status="succeeded", amount=refund.amount,
                   provider_reference="re_9")  # fmt: skip
    assert Payment.objects.filter(order=order, kind=PaymentKind.REFUND).count() == 1


def test_a_handed_over_refund_settled_as_failed_is_owed_again_by_a_new_row(shop: Shop) -> None:
    order, refund = handed_over_by_card(shop)
    refund_settle(refund=refund, actor=accountant(), succeeded=False, reason="Provider says the card is closed")

    again = refund_retry(refund=refund, actor=accountant())

    assert (again.pk != refund.pk, again.retry_of, again.status) == (True, refund, "pending")
    with pytest.raises(RefundSettled):  # the first one, confirmed late, is not paid on top
        refund_confirm(order=order, refund_id=refund.pk, actor=shop.web, status="succeeded", amount=refund.amount,
                       provider_reference="re_1")  # fmt: skip
    assert Payment.objects.filter(order=order, kind=PaymentKind.REFUND).count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("outcome", [True, False])
def test_settling_by_hand_and_a_confirmation_at_once_leave_one_outcome(shop: Shop, outcome: bool) -> None:
    order, refund = handed_over_by_card(shop)
    staff = accountant()

    results = run_at_once(
        [
            partial(
                refund_settle,
                refund=refund,
                actor=staff,
                succeeded=outcome,
                reason="By hand",
                provider_reference="re_hand",
            ),
            partial(
                refund_confirm,
                order=order,
                refund_id=refund.pk,
                actor=shop.web,
                status="succeeded",
                amount=refund.amount,
                provider_reference="re_1",
            ),
        ]
    )

    refund.refresh_from_db()
    ledger = Payment.objects.filter(kind=PaymentKind.REFUND).count()
    assert ledger == (1 if refund.status == RefundStatus.SUCCEEDED else 0)
    assert Order.objects.get(pk=order.pk).refunded_amount == (order.total if ledger else 0)
    assert refund_notices(order).count() == ledger
    refused = [result for result in results if isinstance(result, BaseException)]
    assert [type(error) for error in refused] == [RefundSettled]


def test_a_refund_not_found_by_id(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)

    with pytest.raises(RefundNotFound):
        refund_confirm(order=order, refund_id=refund.pk + 1000, actor=shop.web, status="failed", amount=refund.amount)


# --- Staff-placed orders: nobody confirms, staff see it, the customer is told ----------------


def staff_placed_and_cancelled(shop: Shop) -> tuple[Order, Refund, Refund]:
    """Placed at the Sol store's counter by staff, paid 5.00 from store credit and the rest by card at
    the counter's terminal (recorded by staff: no integration to hand it to), then cancelled."""
    clerk = staff_actor(Role.STORE_MANAGER, shop.store)
    store_credit_grant(customer=shop.customer, amount=Decimal("5.00"), reference="gift", reason="gift")
    order = place(shop, fulfilment="pickup", pickup=shop.store, actor=clerk)
    order = order_payment_add(order=order, actor=clerk, method="store_credit", amount=Decimal("5.00"))
    order = pay(shop, order, method="card", reference="pos-1", actor=clerk)
    order = order_cancel(order=order, actor=clerk)
    credit, card = order.refunds.order_by("id")
    return order, credit, card


def test_a_staff_placed_orders_store_credit_refund_is_told_at_once(shop: Shop) -> None:
    order, credit, card = staff_placed_and_cancelled(shop)

    assert (credit.status, card.status, card.client) == ("succeeded", "pending", None)
    assert [notice.refund for notice in refund_notices(order)] == [credit]


def test_a_staff_placed_orders_card_refund_stays_pending_for_staff_and_is_told_when_settled(shop: Shop) -> None:
    order, _credit, card = staff_placed_and_cancelled(shop)
    assert not refund_webhooks().exists()  # nobody to hand it to

    refund_settle(refund=card, actor=accountant(), succeeded=True, reason="Refunded on the store's terminal")

    assert refund_notices(order).filter(refund=card).count() == 1
    assert Order.objects.get(pk=order.pk).refunded_amount == order.total


# --- What the customer reads; refunds recorded before refunds could be pending -----------------


def test_the_refund_email_says_how_much_goes_back_and_how(shop: Shop) -> None:
    order, refund = cancelled_by_card(shop)
    Order.objects.filter(pk=order.pk).update(language="en")
    refund_confirm(order=order, refund_id=refund.pk, actor=shop.web, status="succeeded", amount=refund.amount,
                   provider_reference="re_1")  # fmt: skip

    assert outbox_send(message_id=refund_notices(order).get().message_id) is True

    [email] = mail.outbox
    assert email.subject == f"Your refund for order {order.number} is on its way"
    assert f"We are giving back 19.95 EUR for order {order.number}, the way you paid (Card)." in email.body


def test_refunds_recorded_as_done_before_become_succeeded_refunds(shop: Shop) -> None:
    order = pay(shop, place(shop), reference="ch_old")
    capture = order.payments.get()
    legacy = Payment.objects.create(
        order=order, kind=PaymentKind.REFUND, method="card", amount=Decimal("5.00"), refund_of=capture,
        provider_reference="ch_old", channel="web", client=shop.web.client,
    )  # fmt: skip
    migration = next(
        module.name for module in pkgutil.iter_modules(orders_migrations.__path__) if module.name.endswith("_refunds_that_happen")
    )  # fmt: skip

    importlib.import_module(f"orders.migrations.{migration}").refunds_from_the_ledger(django_apps, None)

    refund = Refund.objects.get()
    assert (refund.status, refund.payment, refund.capture, refund.amount, refund.client) == (
        "succeeded",
        legacy,
        capture,
        Decimal("5.00"),
        shop.web.client,
    )
    assert [line.amount for line in order_refunds_plan(order=order)] == [Decimal("14.95")]
