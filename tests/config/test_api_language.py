"""The API answers in the request's language, its error messages included.

Every error answer the tests can provoke (the permission matrix's, the OpenAPI contract's probes
of bad input, missing objects and callers over their rate, and the domain refusals below) is
asked for in Spanish (`Accept-Language: es`), and its message and every field message must be
Spanish: a text of the Spanish catalogue, formatted (placeholders match anything). A message
that is English only (not marked for translation, built at import time, or marked but missing
from locale/es) is not in the catalogue and fails here, naming the request and the text.
"""

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real
from drf_spectacular.generators import SchemaGenerator
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from config.api.throttling import ChannelClientRateThrottle
from config.channels import Channel
from tests.api import token_api
from tests.config.access_world import World, cell_response
from tests.config.test_openapi_contract import BAD_INPUT, Contract, missing_objects
from tests.config.test_permission_matrix_api import ROLES, ROWS, request_for
from tests.factories import UserFactory, VariantFactory, channel_client, stock_receive_for
from tests.scenarios import Shop, place

pytestmark = pytest.mark.django_db

# A placeholder of gettext (%(name)s, %s, %d) or of str.format ({name}, as DRF writes them).
PLACEHOLDER = re.compile(r"%\([^)]+\)[sdfr]|%[sdfr]|\{[a-z_0-9]*\}")


@cache
def spanish() -> re.Pattern[str]:
    """Every Spanish text of the merged catalogue (ours, Django's, DRF's) as a pattern of its formatted
    forms; a message may join several with a space (DRF's throttle: its detail, then the wait)."""
    catalog = trans_real.translation("es")._catalog  # type: ignore[attr-defined]
    alternatives = set()
    for text in {value for _key, value in catalog.items() if isinstance(value, str)}:
        if len(PLACEHOLDER.sub("", text).strip(" .:,;")) < 3:
            continue  # a bare placeholder or a word too short to tell the languages apart
        alternatives.add(".+?".join(re.escape(part) for part in PLACEHOLDER.split(text)))
    one = "(?:" + "|".join(sorted(alternatives, key=len, reverse=True)) + ")"
    return re.compile(f"(?s){one}(?: {one})*")


def is_spanish(message: str) -> bool:
    return spanish().fullmatch(message) is not None


def messages_of(body: Any) -> Iterator[str]:
    """The error's message and every message under its fields (nested as serializers nest them)."""
    error = body.get("error", {}) if isinstance(body, dict) else {}
    if isinstance(error.get("message"), str):
        yield error["message"]

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk(error.get("fields", {}))


def english_only(label: str, response: Any) -> list[str]:
    if response.status_code < 400 or "json" not in response.headers.get("Content-Type", ""):
        return []
    return [
        f"{label} -> {response.status_code}: {text!r}" for text in messages_of(response.json()) if not is_spanish(text)
    ]


def in_spanish(send: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def send_in_spanish(caller: Any) -> Any:
        caller.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
        try:
            return send(caller)
        finally:
            caller.defaults.pop("HTTP_ACCEPT_LANGUAGE", None)

    return send_in_spanish


@pytest.fixture
def world() -> World:
    from tests.config.access_world import world_create

    return world_create()


def test_the_oracle_tells_spanish_from_english() -> None:
    with translation.override("es"):
        assert is_spanish(str(translation.gettext("The request has invalid fields.")))
    assert is_spanish("Este campo es requerido.")  # DRF's own catalogue
    assert not is_spanish("The request has invalid fields.")
    assert not is_spanish("Not enough points.")


def test_the_permission_matrix_is_refused_in_spanish(world: World) -> None:
    english = []
    for name, method, obj, _expected in ROWS:
        if not name.startswith("v1:"):
            continue
        for role in ROLES:
            response = cell_response(world, role, in_spanish(request_for(world, name, method, obj)))
            english += english_only(f"{method} {name} {obj} as {role}", response)
    assert english == [], "\n".join(dict.fromkeys(english))


def test_bad_input_is_refused_in_spanish(world: World) -> None:
    english = []
    for probe in BAD_INPUT:
        path = probe.path(world)

        def send(caller: Any, probe: Any = probe, path: str = path) -> Any:
            headers = {"HTTP_ACCEPT_LANGUAGE": "es", **dict(probe.headers)}
            return getattr(caller, probe.method.lower())(path, probe.body, format="json", **headers)

        english += english_only(f"{probe.method} {path}", cell_response(world, probe.role, send))
    assert english == [], "\n".join(english)


def test_what_is_not_there_is_answered_in_spanish() -> None:
    contract = Contract(SchemaGenerator().get_schema(request=None, public=True))
    superuser = UserFactory.create(is_staff=True, is_superuser=True)
    english = []
    for operation, path in missing_objects(contract):
        caller = APIClient()
        if not operation.public:
            caller.force_login(superuser)
        response = getattr(caller, operation.method)(path, format="json", HTTP_ACCEPT_LANGUAGE="es")
        english += english_only(f"{operation.label} at {path}", response)
    assert english == [], "\n".join(english)


def test_a_caller_over_its_rate_is_told_in_spanish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChannelClientRateThrottle, "THROTTLE_RATES", {"channel_client": "1/hour"})
    _client, token = channel_client(Channel.WEB)
    api = token_api(token)
    api.get("/api/v1/products/", HTTP_ACCEPT_LANGUAGE="es")

    response = api.get("/api/v1/products/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 429
    assert english_only("GET /api/v1/products/ over its rate", response) == []


def test_the_tracking_throttle_is_told_in_spanish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "order_tracking", "1/hour")
    anonymous, path = APIClient(), reverse("v1:order-track", kwargs={"number": "ABCD-1234"}) + "?email=a@example.com"
    anonymous.get(path, HTTP_ACCEPT_LANGUAGE="es")

    response = anonymous.get(path, HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 429
    assert english_only("tracking over its rate", response) == []


# --- Domain refusals the matrix does not provoke ---------------------------------------------------


def refusals(shop: Shop) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(label, path, body) of payments each service refuses with its own words."""
    order = place(shop)
    big = VariantFactory.create(price=Decimal("3500.00"))
    stock_receive_for(shop.warehouse, big, 1)
    above_limit = place(shop, lines=[(big, 1)])
    payments = "/api/v1/orders/{}/payments/"
    yield "not enough points", payments.format(order.number), {"method": "loyalty_points", "points": 1000}
    yield "not enough store credit", payments.format(order.number), {"method": "store_credit", "amount": "1.00"}
    yield (
        "more than due",
        payments.format(order.number),
        {"method": "card", "amount": "99.00", "provider_reference": "x"},
    )
    yield "not for this channel", payments.format(order.number), {"method": "cash", "amount": "1.00"}
    yield (
        "a ticket above the limit",
        payments.format(above_limit.number),
        {"method": "card", "amount": "3500.00", "provider_reference": "y"},
    )
    yield (
        "bad billing",
        payments.format(above_limit.number),
        {"method": "card", "amount": "3500.00", "provider_reference": "z", "billing": {"tax_id": "1"}},
    )


def test_domain_refusals_are_told_in_spanish(shop: Shop) -> None:
    api = token_api(shop.web_token)
    english = []
    for label, path, body in refusals(shop):
        response = api.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE="es")
        assert response.status_code in (400, 403, 409), (label, response.status_code)
        english += english_only(label, response)
    assert english == [], "\n".join(english)


def test_the_same_refusal_is_told_in_english_when_asked(shop: Shop) -> None:
    order = place(shop)

    response = token_api(shop.web_token).post(
        f"/api/v1/orders/{order.number}/payments/",
        {"method": "loyalty_points", "points": 1000},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.json()["error"]["message"] == "Not enough points."
