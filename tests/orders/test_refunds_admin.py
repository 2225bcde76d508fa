"""The Refunds screen (orders/admin/refunds.py): pending and failed refunds, handed over again or settled by hand."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from config.outbox import webhook_subscription_create
from config.roles import Role
from orders.models import Order, Refund
from orders.services import order_cancel, refund_confirm
from tests.api import admin_session
from tests.factories import staff_with_role
from tests.scenarios import Shop, pay, place

REFUNDS = "/admin/orders/refund/"


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def cancelled(shop: Shop, **placing: Any) -> tuple[Order, Refund]:
    order = order_cancel(order=pay(shop, place(shop, **placing)), actor=shop.web)
    return order, order.refunds.get()


def listed(response: Any) -> list[int]:
    return [refund.pk for refund in response.context["cl"].result_list]


@pytest.fixture
def accounts(shop: Shop) -> Client:
    return admin_session(staff_with_role(Role.ACCOUNTANT, username="cuentas"))


def act(client: Client, action: str, *refunds: Refund, **data: Any) -> Any:
    return client.post(REFUNDS, {"action": action, "_selected_action": [r.pk for r in refunds], **data}, follow=True)


def test_the_list_shows_pending_and_failed_refunds_with_filters(accounts: Client, shop: Shop) -> None:
    _order, pending = cancelled(shop)
    failed_order, failed = cancelled(shop)
    refund_confirm(order=failed_order, refund_id=failed.pk, actor=shop.web, status="failed", amount=failed.amount)
    done_order, done = cancelled(shop)
    refund_confirm(order=done_order, refund_id=done.pk, actor=shop.web, status="succeeded", amount=done.amount,
                   provider_reference="re_1")  # fmt: skip

    assert set(listed(accounts.get(REFUNDS))) == {pending.pk, failed.pk, done.pk}
    assert set(listed(accounts.get(REFUNDS + "?attention=yes"))) == {pending.pk, failed.pk}
    assert listed(accounts.get(REFUNDS + "?status__exact=failed")) == [failed.pk]
    assert len(listed(accounts.get(REFUNDS + "?method__exact=card&channel=web"))) == 3
    assert listed(accounts.get(REFUNDS + "?channel=store")) == []


def test_the_list_is_searched_by_order_number_as_staff_type_it(accounts: Client, shop: Shop) -> None:
    order, refund = cancelled(shop)
    cancelled(shop)

    assert listed(accounts.get(REFUNDS, {"q": order.number.replace("-", "").lower()})) == [refund.pk]


def test_the_list_is_a_bounded_number_of_queries(
    accounts: Client, shop: Shop, django_assert_max_num_queries: Any
) -> None:
    for _ in range(4):
        cancelled(shop)
    accounts.get(REFUNDS)

    with django_assert_max_num_queries(8):
        response = accounts.get(REFUNDS)

    assert len(listed(response)) == 4


def test_store_staff_see_only_their_stores_refunds_and_cannot_settle(shop: Shop) -> None:
    _order, here = cancelled(shop, fulfilment="pickup", pickup=shop.store)
    cancelled(shop)  # shipped home: not the store's
    clerk = admin_session(staff_with_role(Role.STORE_MANAGER, shop.store))

    response = clerk.get(REFUNDS)

    assert listed(response) == [here.pk]
    assert "settle_by_hand" not in response.content.decode()
    act(clerk, "settle_by_hand", here, apply="1", outcome="succeeded", reason="x")
    assert Refund.objects.get(pk=here.pk).status == "pending"


def test_hand_over_again_sends_a_new_webhook_and_is_audited(accounts: Client, shop: Shop) -> None:
    assert shop.web.client is not None
    webhook_subscription_create(client=shop.web.client, event="order.refund", url="https://web.example.com/h")
    order, refund = cancelled(shop)

    response = act(accounts, "hand_over_again", refund)

    assert "1 refund handed over again." in messages_of(response)
    change = order.history.get(event="refund_handed_over")
    assert change.user is not None
    assert change.user.username == "cuentas"


def test_hand_over_again_says_why_it_cannot(accounts: Client, shop: Shop) -> None:
    order, refund = cancelled(shop)  # no subscription: nobody takes it

    response = act(accounts, "hand_over_again", refund)

    assert any("settle it by hand" in message for message in messages_of(response))
    assert not order.history.filter(event="refund_handed_over").exists()


def test_settle_by_hand_asks_for_the_outcome_and_a_reason(accounts: Client, shop: Shop) -> None:
    _order, refund = cancelled(shop)

    response = act(accounts, "settle_by_hand", refund)

    page = response.content.decode()
    assert 'name="reason"' in page
    assert 'name="outcome"' in page
    assert Refund.objects.get(pk=refund.pk).status == "pending"


def test_settle_by_hand_settles_with_the_reason_in_the_history(accounts: Client, shop: Shop) -> None:
    order, refund = cancelled(shop)

    response = act(accounts, "settle_by_hand", refund, apply="1", outcome="succeeded", reason="Bank transfer 12/04")

    assert "1 refund settled." in messages_of(response)
    refund.refresh_from_db()
    assert (refund.status, refund.settled_reason, refund.confirmed_by_user.username) == (  # type: ignore[union-attr]
        "succeeded",
        "Bank transfer 12/04",
        "cuentas",
    )
    change = order.history.get(event="refund_succeeded")
    assert change.user is not None
    assert change.user.username == "cuentas"
    assert "Bank transfer 12/04" in change.note


def test_settle_by_hand_without_a_reason_changes_nothing(accounts: Client, shop: Shop) -> None:
    _order, refund = cancelled(shop)

    response = act(accounts, "settle_by_hand", refund, apply="1", outcome="failed", reason="")

    assert response.status_code == 200
    assert Refund.objects.get(pk=refund.pk).status == "pending"


def test_a_settled_refund_is_refused_by_name(accounts: Client, shop: Shop) -> None:
    order, refund = cancelled(shop)
    refund_confirm(order=order, refund_id=refund.pk, actor=shop.web, status="failed", amount=refund.amount)

    response = act(accounts, "settle_by_hand", refund, apply="1", outcome="succeeded", reason="late")

    assert any(message.startswith(order.number) for message in messages_of(response))
    assert Refund.objects.get(pk=refund.pk).status == "failed"


def test_the_orders_page_lists_its_refunds(accounts: Client, shop: Shop) -> None:
    order, refund = cancelled(shop)

    response = accounts.get(f"/admin/orders/order/{order.pk}/change/")

    assert response.status_code == 200
    [inline] = [f for f in response.context["inline_admin_formsets"] if f.opts.model is Refund]
    assert [form.original for form in inline] == [refund]


def test_settling_a_handed_over_refund_as_paid_asks_for_the_providers_reference(accounts: Client, shop: Shop) -> None:
    assert shop.web.client is not None
    webhook_subscription_create(client=shop.web.client, event="order.refund", url="https://web.example.com/hooks")
    _order, refund = cancelled(shop)

    response = act(accounts, "settle_by_hand", refund, apply="1", outcome="succeeded", reason="Bank says so")

    assert any("refund reference" in message for message in messages_of(response))
    assert Refund.objects.get(pk=refund.pk).status == "pending"

    act(accounts, "settle_by_hand", refund, apply="1", outcome="succeeded", reason="Bank says so",
        provider_reference="re_77")  # fmt: skip

    assert Refund.objects.get(pk=refund.pk).provider_reference == "re_77"
