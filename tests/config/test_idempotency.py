"""The Idempotency-Key (config.api.idempotency): every write of the API is safe to retry.

A retry with the key gets the first answer and changes nothing; the key with another body or
operation is a 409 that changes nothing; two requests with one key at once make one effect; a
refusal is not remembered; keys are per caller and swept after their retention. The last part
walks the URLconf: a POST handler that is not marked fails here.
"""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from config.api.idempotency import CHANGES_NOTHING, KEYED, OWN, handler_idempotency, idempotent_response
from config.channels import Channel
from config.idempotency import KeyOwner, idempotent_requests_sweep
from config.models import IdempotentRequest
from config.roles import Role
from config.tasks import idempotent_requests_sweep as sweep_task
from config.transactions import request_transaction, use_case
from customers.models import Customer, LoyaltyAccount
from customers.services.loyalty import loyalty_adjust
from customers.services.privacy import customer_erase, customer_outbox_subject
from customers.services.store_credit import store_credit_balance, store_credit_grant
from inventory.models import StockLevel, StockMovement
from inventory.services import transfer_ship
from orders import codes
from orders.models import Order, OrderStatus, Payment
from tests.api import staff_api, token_api
from tests.concurrency import raised, run_at_once
from tests.factories import UserFactory, staff_with_role
from tests.scenarios import Shop, pay, place

ORDERS = "/api/v1/orders/"
REPLAYED = "Idempotent-Replayed"


def post(api: APIClient, path: str, body: Any = None, *, key: str | None) -> Any:
    headers: dict[str, Any] = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(path, body or {}, format="json", **headers)


def state(order: Order) -> tuple[Any, ...]:
    """What a write to an order changes: its status and money, its payments, its stock, its history."""
    order.refresh_from_db()
    return (
        order.status,
        order.paid_amount,
        order.invoice_id,
        Payment.objects.filter(order=order).count(),
        order.history.count(),
        StockMovement.objects.count(),
        sorted(StockLevel.objects.values_list("pk", "on_hand", "reserved")),
    )


@pytest.fixture
def clerk(shop: Shop) -> Any:
    return staff_with_role(Role.STORE_STAFF, shop.store)


# --- Payments of every method: a retry records one payment --------------------------------------


def _at_till(shop: Shop) -> tuple[Order, APIClient]:
    return place(shop, fulfilment="pickup", pickup=shop.store, payment_mode="at_pickup"), token_api(shop.store_token)


def _on_the_web(shop: Shop) -> tuple[Order, APIClient]:
    return place(shop), token_api(shop.web_token)


@pytest.mark.parametrize(
    ("method", "where", "body"),
    [
        ("cash", _at_till, {"amount": "10.00"}),
        ("card_at_till", _at_till, {"amount": "10.00"}),
        ("card", _on_the_web, {"amount": "10.00", "provider_reference": "ch_1"}),
        ("store_credit", _on_the_web, {"amount": "10.00"}),
        ("loyalty_points", _on_the_web, {"points": 100}),
    ],
)
def test_a_retried_payment_is_recorded_once_and_answered_as_the_first_time(
    shop: Shop, method: str, where: Any, body: dict[str, Any]
) -> None:
    store_credit_grant(customer=shop.customer, amount=Decimal("30.00"), reference="goodwill", reason="goodwill")
    loyalty_adjust(customer=shop.customer, points=500, reason="welcome")
    order, api = where(shop)
    path = f"{ORDERS}{order.number}/payments/"

    first = post(api, path, {"method": method, **body}, key="pay-1")
    after_first = state(order)
    again = post(api, path, {"method": method, **body}, key="pay-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert (first.headers.get(REPLAYED), again.headers[REPLAYED]) == (None, "true")
    assert state(order) == after_first
    assert Payment.objects.filter(order=order).count() == 1
    assert store_credit_balance(customer=shop.customer) == Decimal("30.00") - (10 if method == "store_credit" else 0)
    assert LoyaltyAccount.objects.get(customer=shop.customer).balance == 500 - (
        100 if method == "loyalty_points" else 0
    )


def test_without_a_key_a_repeated_cash_payment_is_two_payments(shop: Shop) -> None:
    order, api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"

    responses = [post(api, path, {"method": "cash", "amount": "5.00"}, key=None) for _ in range(2)]

    assert [response.status_code for response in responses] == [201, 201]
    assert Payment.objects.filter(order=order).count() == 2
    assert IdempotentRequest.objects.count() == 0


def test_a_replay_answers_the_first_answer_even_after_the_order_moved_on(shop: Shop) -> None:
    order, api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"
    first = post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")
    post(api, path, {"method": "cash", "amount": "14.95"}, key="pay-2")  # paid in full now

    again = post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")

    assert again.json() == first.json()
    assert again.json()["status"] == "placed"
    assert Payment.objects.filter(order=order).count() == 2


# --- Fulfilment commands: a retry does the work once --------------------------------------------


def test_a_retried_cancel_cancels_once(shop: Shop) -> None:
    order, api = _on_the_web(shop)
    path = f"{ORDERS}{order.number}/cancel/"
    first = post(api, path, {"reason": "changed my mind"}, key="cancel-1")
    after = state(order)

    again = post(api, path, {"reason": "changed my mind"}, key="cancel-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert first.json()["status"] == "cancelled"
    assert state(order) == after  # a second cancel would have been a 409


def test_a_retried_ready_and_hand_over_answer_as_the_first_time(shop: Shop, clerk: Any) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store))
    api = staff_api(clerk)
    ready = post(api, f"{ORDERS}{order.number}/ready/", key="ready-1")
    ready_again = post(api, f"{ORDERS}{order.number}/ready/", key="ready-1")
    after_ready = state(order)
    code = {"code": codes.pickup_code(number=order.number, secret=order.pickup_secret)}

    handed = post(api, f"{ORDERS}{order.number}/hand-over/", code, key="hand-1")
    handed_again = post(api, f"{ORDERS}{order.number}/hand-over/", code, key="hand-1")

    assert (ready.status_code, ready_again.status_code) == (200, 200)
    assert ready_again.json() == ready.json()
    assert after_ready[0] == OrderStatus.READY
    assert (handed.status_code, handed_again.status_code) == (200, 200)
    assert handed_again.json() == handed.json()
    assert handed.json()["status"] == "picked_up"
    assert StockLevel.objects.get(location=shop.store, variant=shop.shirt).on_hand == 4  # one unit left, once


def test_a_retried_ship_ships_once(shop: Shop) -> None:
    order = pay(shop, place(shop))
    api = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse))
    path = f"{ORDERS}{order.number}/ship/"
    first = post(api, path, {"carrier": "SEUR", "tracking_number": "T1"}, key="ship-1")
    after = state(order)

    again = post(api, path, {"carrier": "SEUR", "tracking_number": "T1"}, key="ship-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert state(order) == after


def test_a_retried_receipt_of_transfers_receives_once(shop: Shop, clerk: Any) -> None:
    order = pay(shop, place(shop, fulfilment="pickup", pickup=shop.store, lines=[(shop.book, 2)]))
    transfer_ship(transfer=order.lines.get().transfer)  # type: ignore[arg-type]
    api = staff_api(clerk)
    path = f"{ORDERS}{order.number}/transfers-received/"
    first = post(api, path, key="recv-1")
    after = state(order)

    again = post(api, path, key="recv-1")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert state(order) == after
    level = StockLevel.objects.get(location=shop.store, variant=shop.book)
    assert (level.on_hand, level.reserved) == (2, 2)


# --- Refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", [str.lower, lambda number: number.replace("-", ""), lambda n: n.lower().replace("-", "")]
)
def test_a_retry_with_the_order_number_typed_another_way_is_the_same_request(shop: Shop, typed: Any) -> None:
    order, api = _at_till(shop)
    first = post(api, f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "5.00"}, key="pay-1")
    after_first = state(order)

    again = post(api, f"{ORDERS}{typed(order.number)}/payments/", {"method": "cash", "amount": "5.00"}, key="pay-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert state(order) == after_first


def test_a_key_stored_with_its_path_before_the_release_still_answers_its_request(shop: Shop) -> None:
    order, api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"
    first = post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")
    IdempotentRequest.objects.update(operation=f"POST {path}")  # as keys were stored before
    after_first = state(order)

    again = post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")

    assert (again.status_code, again.json()) == (201, first.json())
    assert state(order) == after_first


def test_the_key_with_another_body_is_refused_and_changes_nothing(shop: Shop) -> None:
    order, api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"
    post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")
    before = state(order)

    response = post(api, path, {"method": "cash", "amount": "6.00"}, key="pay-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert state(order) == before


def test_the_key_for_another_operation_is_refused_and_changes_nothing(shop: Shop) -> None:
    order, api = _on_the_web(shop)
    other = place(shop)
    post(api, f"{ORDERS}{order.number}/cancel/", key="k")
    before = state(other)

    on_another_order = post(api, f"{ORDERS}{other.number}/cancel/", key="k")
    another_command = post(api, f"{ORDERS}{order.number}/payments/", {"method": "card"}, key="k")

    assert (on_another_order.status_code, another_command.status_code) == (409, 409)
    assert on_another_order.json()["error"]["code"] == "idempotency_key_reused"
    assert state(other) == before


@pytest.mark.parametrize("key", ["", "   ", "k" * 101])
def test_a_key_that_is_not_1_to_100_characters_is_refused_and_changes_nothing(shop: Shop, key: str) -> None:
    order, api = _at_till(shop)
    before = state(order)

    response = post(api, f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "5.00"}, key=key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]
    assert state(order) == before
    assert IdempotentRequest.objects.count() == 0


def test_a_refusal_is_not_remembered_and_the_retry_runs_again(shop: Shop) -> None:
    order = place(shop)
    api = staff_api(staff_with_role(Role.WAREHOUSE, shop.warehouse))
    path = f"{ORDERS}{order.number}/ship/"
    body = {"carrier": "SEUR", "tracking_number": "T1"}
    refused = post(api, path, body, key="ship-1")  # not paid yet
    pay(shop, order)

    retried = post(api, path, body, key="ship-1")

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "order_not_paid")
    assert retried.status_code == 200
    assert REPLAYED not in retried.headers
    assert retried.json()["status"] == "shipped"


def test_keys_belong_to_each_caller(shop: Shop, clerk: Any) -> None:
    order, till = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"

    by_till = post(till, path, {"method": "cash", "amount": "5.00"}, key="same")
    by_clerk = post(staff_api(clerk), path, {"method": "cash", "amount": "5.00"}, key="same")

    assert (by_till.status_code, by_clerk.status_code) == (201, 201)
    assert REPLAYED not in by_clerk.headers
    assert Payment.objects.filter(order=order).count() == 2


def test_a_key_and_its_effect_commit_together_or_not_at_all(shop: Shop) -> None:
    """A crash after the effect and before the answer leaves neither: the retry does the work once."""

    @use_case
    def customer_named(*, name: str) -> Customer:
        return Customer.objects.create(name=name, first_seen_channel=Channel.WEB)

    class Crash(Exception):
        pass

    def run() -> Any:
        customer_named(name="Written before the crash")
        raise Crash

    request = token_api(shop.web_token).post("/api/v1/customers/resolve/", {}, format="json").wsgi_request
    drf_request = _drf_request(request, shop)
    with pytest.raises(Crash):
        idempotent_response(drf_request, raw_key="crash", run=run)

    assert not Customer.objects.filter(name="Written before the crash").exists()
    assert IdempotentRequest.objects.count() == 0


def _drf_request(django_request: Any, shop: Shop) -> Any:
    from rest_framework.request import Request

    request = Request(django_request)
    request._full_data = {}  # type: ignore[attr-defined]
    request.user, request.auth = None, shop.web.client  # type: ignore[assignment]
    return request


def test_a_use_case_inside_a_request_transaction_takes_part_in_it_but_one_nested_in_it_is_refused(db: Any) -> None:
    @use_case
    def inner() -> None:
        Customer.objects.create(name="Inner", first_seen_channel=Channel.WEB)

    @use_case
    def outer() -> None:
        inner()

    with request_transaction():
        inner()  # joins: no RuntimeError
        with pytest.raises(RuntimeError, match="durable"):
            outer()

    assert Customer.objects.filter(name="Inner").count() == 1


# --- Concurrency (real threads, real PostgreSQL) ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_a_cash_payment_record_one_payment(shop: Shop) -> None:
    order, _api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"

    def attempt() -> Any:
        response = post(token_api(shop.store_token), path, {"method": "cash", "amount": "5.00"}, key="racing")
        return response.status_code, response.headers.get(REPLAYED), response.json()

    results = run_at_once([attempt for _ in range(6)])

    assert raised(results) == []
    assert Counter((status, replayed) for status, replayed, _body in results) == {(201, None): 1, (201, "true"): 5}
    assert all(body == results[0][2] for _status, _replayed, body in results)
    assert Payment.objects.filter(order=order).count() == 1
    assert IdempotentRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_and_different_bodies_make_one_payment(shop: Shop) -> None:
    order, _api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"

    def attempt(amount: str) -> Any:
        response = post(token_api(shop.store_token), path, {"method": "cash", "amount": amount}, key="racing")
        return response.status_code, response.json()

    results = run_at_once([lambda amount=amount: attempt(amount) for amount in ("1.00", "2.00", "3.00", "4.00")])  # type: ignore[misc]

    assert raised(results) == []
    assert sorted(status for status, _body in results) == [201, 409, 409, 409]
    assert {body["error"]["code"] for status, body in results if status == 409} == {"idempotency_key_reused"}
    payment = Payment.objects.get(order=order)
    winner = next(body for status, body in results if status == 201)
    assert winner["paid_amount"] == str(payment.amount)


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_request_still_runs_is_told_so_and_does_nothing(shop: Shop, settings: Any) -> None:
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    order, _api = _at_till(shop)
    other = connections.create_connection("default")  # the first request, stuck inside its transaction
    other.set_autocommit(False)
    with other.cursor() as cursor:
        cursor.execute(
            "INSERT INTO config_idempotentrequest (client_id, key, operation, fingerprint, created_at) "
            "VALUES (%s, 'slow', 'POST x', 'f', now())",
            [shop.store_actor.client.pk],  # type: ignore[union-attr]
        )
    try:
        response = post(
            token_api(shop.store_token),
            f"{ORDERS}{order.number}/payments/",
            {"method": "cash", "amount": "5"},
            key="slow",
        )
    finally:
        other.rollback()
        other.close()

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_progress"
    assert response.headers["Retry-After"] == "1"
    assert Payment.objects.filter(order=order).count() == 0


# --- Cost and retention -------------------------------------------------------------------------


def test_a_replay_takes_a_few_queries_and_writes_nothing(shop: Shop, django_assert_max_num_queries: Any) -> None:
    order, api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"
    post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")

    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(3):
        again = post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")

    assert again.status_code == 201
    assert not [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]


def test_keys_past_their_retention_are_swept(shop: Shop, settings: Any) -> None:
    settings.IDEMPOTENCY_KEY_RETENTION_DAYS = 7
    order, api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"
    post(api, path, {"method": "cash", "amount": "1.00"}, key="old")
    post(api, path, {"method": "cash", "amount": "1.00"}, key="new")
    IdempotentRequest.objects.filter(key="old").update(created_at=timezone.now() - timedelta(days=8))

    swept = sweep_task()

    assert swept == 1
    assert list(IdempotentRequest.objects.values_list("key", flat=True)) == ["new"]
    # Once forgotten, the key is a new request: it runs again.
    assert post(api, path, {"method": "cash", "amount": "1.00"}, key="old").headers.get(REPLAYED) is None
    assert Payment.objects.filter(order=order).count() == 3


def test_the_sweep_goes_in_batches(db: Any) -> None:
    user = UserFactory.create(is_staff=True)
    old = timezone.now() - timedelta(days=30)
    IdempotentRequest.objects.bulk_create(
        IdempotentRequest(user=user, key=f"k{i}", operation="POST x", fingerprint="f", status_code=200, created_at=old)
        for i in range(5)
    )

    assert idempotent_requests_sweep(batch=2) == 2
    assert IdempotentRequest.objects.count() == 3


def test_a_caller_owns_its_keys_by_credential_or_by_staff_member(shop: Shop) -> None:
    user = UserFactory.create(is_staff=True)

    assert KeyOwner(client=shop.web.client).lookup() == {"client": shop.web.client}
    assert KeyOwner(user=user).lookup() == {"user": user}


# --- Every changing POST of the API takes the key -----------------------------------------------


def _api_views(resolver: URLResolver | None = None, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _api_views(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            found.append((route, pattern.callback))
    return found


def post_handlers() -> list[tuple[str, Any]]:
    """Every handler the API runs for a POST, with its route."""
    handlers = []
    for route, callback in _api_views():
        view = getattr(callback, "cls", None)
        if view is None:
            continue
        actions = getattr(callback, "actions", None)
        if actions is not None:  # a ViewSet's route: its method → action map
            name = actions.get("post")
            if name:
                handlers.append((f"POST {route}", getattr(view, name)))
        elif hasattr(view, "post"):
            handlers.append((f"POST {route}", view.post))
    return handlers


def test_every_post_of_the_api_takes_an_idempotency_key() -> None:
    unmarked = [
        route for route, handler in post_handlers() if handler_idempotency(handler) not in (KEYED, OWN, CHANGES_NOTHING)
    ]

    assert unmarked == [], "Mark these handlers @idempotent (config.api.idempotency)"


def test_the_walk_finds_the_posts_it_checks() -> None:
    routes = {route for route, _handler in post_handlers()}

    assert any("payments" in route for route in routes)
    assert any("pickups/redeem" in route for route in routes)
    assert any("inventory" in route for route in routes)
    assert len(routes) >= 15


def test_the_schema_documents_the_header_and_its_answers() -> None:
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    operation = document["paths"]["/api/v1/orders/{number}/payments/"]["post"]
    ready = document["paths"]["/api/v1/orders/{number}/ready/"]["post"]

    assert {"name": "Idempotency-Key", "in": "header"}.items() <= operation["parameters"][-1].items() or any(
        parameter["name"] == "Idempotency-Key" and parameter["in"] == "header" for parameter in operation["parameters"]
    )
    assert "idempotency_key_reused" in operation["responses"]["409"]["description"]
    assert "idempotency_key_in_progress" in ready["responses"]["409"]["description"]
    assert "invalid_idempotency_key" in ready["responses"]["400"]["description"]
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert "Idempotent-Replayed" not in document["paths"]["/api/v1/orders/"]["get"]["responses"]["200"].get(
        "headers", {}
    )


# --- Personal data in stored answers: the customer's erasure empties them -------------------------


def test_a_stored_answer_about_an_order_names_its_customer(shop: Shop) -> None:
    order, api = _at_till(shop)

    post(api, f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "5.00"}, key="pay-1")

    assert IdempotentRequest.objects.get().subject == customer_outbox_subject(shop.customer.pk)


def test_a_stored_answer_of_a_customers_consents_names_the_customer(shop: Shop) -> None:
    consent = {"channel": "email", "purpose": "marketing", "granted": True, "source": "tick box"}

    response = post(token_api(shop.web_token), f"/api/v1/customers/{shop.customer.pk}/consents/", consent, key="c-1")

    assert response.status_code in (200, 201)
    assert IdempotentRequest.objects.get().subject == customer_outbox_subject(shop.customer.pk)


def test_erasing_a_customer_empties_the_stored_answers_about_them_only(shop: Shop) -> None:
    order, api = _at_till(shop)
    post(api, f"{ORDERS}{order.number}/payments/", {"method": "cash", "amount": "5.00"}, key="pay-1")
    someone_else = IdempotentRequest.objects.create(
        client=shop.web.client, key="other", operation="POST x", fingerprint="f", status_code=200,
        body={"customer": 999999}, subject=customer_outbox_subject(999999),
    )  # fmt: skip

    customer_erase(customer=shop.customer)

    erased = IdempotentRequest.objects.get(key="pay-1")
    assert (erased.body, erased.erased_at is not None) == (None, True)
    assert IdempotentRequest.objects.get(pk=someone_else.pk).body == {"customer": 999999}


def test_a_retry_after_the_erasure_is_refused_as_erased_and_changes_nothing(shop: Shop) -> None:
    order, api = _at_till(shop)
    path = f"{ORDERS}{order.number}/payments/"
    post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")
    customer_erase(customer=shop.customer)
    before = state(order)

    again = post(api, path, {"method": "cash", "amount": "5.00"}, key="pay-1")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "idempotency_answer_erased"
    assert state(order) == before
