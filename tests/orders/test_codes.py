"""The pickup code and its short form, checked as typed: whatever the text, a wrong code is a no, never an error.

Issue 15, finding 7: the comparison refused non-ASCII text, so a code typed as `ÑANDÚ-Ü` at the
counter answered 500 instead of 400 `invalid_pickup_code`.
"""

import pytest
from rest_framework.test import APIClient

from config.channels import Channel
from config.roles import Role
from orders.codes import (
    order_number_normalise,
    pickup_code,
    pickup_code_matches,
    pickup_secret_new,
    pickup_short_code,
    tracking_token,
    tracking_token_matches,
)
from orders.models import Order, OrderStatus
from orders.services import Actor, order_make_ready, order_payment_add
from tests.factories import staff_with_role
from tests.scenarios import Shop, place

NUMBER = "ABCD-EFGH"
SECRET = pickup_secret_new()


@pytest.mark.parametrize(
    "typed",
    ["ABCD-EFGH", "abcd-efgh", "abcdefgh", " abcd efgh ", "AB CD-EF GH", "abcd - efgh"],
    ids=["stored", "lower-case", "without-dash", "space-for-dash", "spaces-anywhere", "spaced-dash"],
)
def test_an_order_number_is_read_in_any_case_with_spaces_or_without_its_dash(typed: str) -> None:
    assert order_number_normalise(typed) == NUMBER


@pytest.mark.parametrize("typed", ["ABCDEFG", "ABCDEFGHJ", "", "   "], ids=["short", "long", "empty", "blank"])
def test_what_cannot_be_a_number_gets_no_dash_made_up(typed: str) -> None:
    assert "-" not in order_number_normalise(typed)


def test_the_short_code_matches_in_any_case_with_dashes_and_spaces() -> None:
    short = pickup_short_code(secret=SECRET)

    assert pickup_code_matches(code=f" {short[:4].lower()}-{short[4:]} ", number=NUMBER, secret=SECRET)


def test_the_signed_code_matches_its_own_order() -> None:
    assert pickup_code_matches(code=pickup_code(number=NUMBER, secret=SECRET), number=NUMBER, secret=SECRET)


@pytest.mark.parametrize("typed", ["ÑANDÚ-Ü", "ñandú-ü", "ÑÑÑÑ-ÑÑÑÑ", "€"], ids=["upper", "lower", "eight", "euro"])
def test_a_non_ascii_short_code_does_not_match_and_raises_nothing(typed: str) -> None:
    assert pickup_code_matches(code=typed, number=NUMBER, secret=SECRET) is False


def test_a_genuinely_signed_code_with_a_non_ascii_secret_does_not_match_and_raises_nothing() -> None:
    # Signed with the project's key, so it parses: the secrets are compared, one of them non-ASCII.
    code = pickup_code(number=NUMBER, secret="ñandú")

    assert pickup_code_matches(code=code, number=NUMBER, secret=SECRET) is False


def test_a_forged_non_ascii_full_code_does_not_match_and_raises_nothing() -> None:
    forged = f"{NUMBER}.ñandú:{'ü' * 27}"

    assert pickup_code_matches(code=forged, number=NUMBER, secret=SECRET) is False


def test_a_non_ascii_tracking_token_does_not_match_and_raises_nothing() -> None:
    assert tracking_token_matches(number=NUMBER, token="ñ") is False
    assert tracking_token_matches(number=NUMBER, token=tracking_token(number=NUMBER)) is True


@pytest.mark.django_db
def test_a_hand_over_with_a_non_ascii_code_is_refused_as_an_invalid_pickup_code(shop: Shop) -> None:
    clerk = staff_with_role(Role.STORE_STAFF, shop.store)
    order = place(shop, fulfilment="pickup", pickup=shop.store)
    order = order_payment_add(order=order, actor=shop.web, method="card", amount=order.total, provider_reference="c")
    order_make_ready(order=order, actor=Actor(channel=Channel.STORE, user=clerk))
    api = APIClient()
    api.force_login(clerk)

    response = api.post(f"/api/v1/orders/{order.number}/hand-over/", {"code": "ÑANDÚ-Ü"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_pickup_code"
    assert Order.objects.values_list("status", flat=True).get(pk=order.pk) == OrderStatus.READY
