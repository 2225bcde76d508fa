"""The OpenAPI schema tells the truth: every answer the API gives is one its schema promises.

Clients generate their code from /api/schema/. An answer outside it (a status the operation does
not list, a price sent as a string where a number is declared, a null where none is allowed, a
list where a page is declared) breaks them where the schema said it would not. So every answer
the tests can provoke is checked against the schema drf-spectacular generates:

- the status is one the operation lists, with the content type the operation declares for it;
- a JSON body is valid against that response's schema (JSON Schema, `$ref`s resolved against the
  components), strictly: a field the schema does not name is a lie too. Errors are checked against
  the one error shape (config.api.errors).

The answers come from the permission matrix (tests/config/test_permission_matrix_api.py: every
operation as 13 kinds of caller, so every 200, 401, 403, 404, 400 and 409 it gives) and from
probes made here for the answers the matrix does not provoke: an object that does not exist,
input that is not valid, a caller over its rate.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from config.api.throttling import ChannelClientRateThrottle
from config.channels import Channel
from tests.api import staff_api, token_api
from tests.config.access_world import World, cell_response, world_create
from tests.config.test_permission_matrix_api import matrix_walk
from tests.factories import UserFactory, channel_client

pytestmark = pytest.mark.django_db

ORDERS = ("pickup_x", "paid_x", "unpaid_x", "ship_w", "locker_a", "mkt", "cancelled_x")  # the world's orders, by name

API_PREFIX = "/api/v1/"


# --- The schema, as JSON Schema -----------------------------------------------------------------

# OpenAPI 3.0 words that are not JSON Schema (or say nothing about a body) and that a validator
# would ignore or misread.
OPENAPI_ONLY = ("nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated")


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as JSON Schema: `nullable` becomes "or null"; objects are closed.

    An object that names its properties and says nothing of others admits no others: a field the
    schema does not declare is an answer outside it.
    """
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in OPENAPI_ONLY:
            continue
        if key == "properties":
            out[key] = {name: json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = json_schema(value)
        else:
            out[key] = value
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if "oneOf" in out and "mapping" in node.get("discriminator", {}):
        out = by_discriminator(node["discriminator"])
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def by_discriminator(discriminator: dict[str, Any]) -> dict[str, Any]:
    """A oneOf told apart by a property: the alternative it names, not the closest to the body."""
    name, mapping = discriminator["propertyName"], discriminator["mapping"]
    return {
        "type": "object",
        "required": [name],
        "properties": {name: {"enum": list(mapping)}},
        "allOf": [
            {"if": {"properties": {name: {"const": key}}}, "then": {"$ref": ref}} for key, ref in mapping.items()
        ],
    }


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def responses(self) -> dict[str, Any]:
        return dict(self.spec["responses"])

    @property
    def body(self) -> bool:
        return "requestBody" in self.spec

    @property
    def query_parameters(self) -> list[str]:
        return [parameter["name"] for parameter in self.spec.get("parameters", []) if parameter["in"] == "query"]

    @property
    def public(self) -> bool:
        return not self.spec.get("security")

    @property
    def paginated(self) -> bool:
        schema = self.responses.get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        return str(schema.get("$ref", "")).startswith("#/components/schemas/Paginated")


class Contract:
    """The generated schema: its operations, found by a request's method and path."""

    def __init__(self, document: dict[str, Any]) -> None:
        schemas = document["components"]["schemas"]
        self.components = {"components": {"schemas": {name: json_schema(sub) for name, sub in schemas.items()}}}
        self.operations: list[tuple[re.Pattern[str], int, Operation]] = []
        self.validators: dict[tuple[str, str, str], jsonschema.Draft7Validator] = {}
        for path, methods in document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
            literal = len(re.sub(r"\{[^}]+\}", "", path))  # /customers/lookup/ before /customers/{id}/
            for method, operation in methods.items():
                self.operations.append((pattern, literal, Operation(method, path, operation)))

    def all_operations(self) -> list[Operation]:
        return [operation for _, _, operation in self.operations]

    def operation(self, method: str, path: str) -> Operation | None:
        found = [
            (literal, operation)
            for pattern, literal, operation in self.operations
            if operation.method == method.lower() and pattern.match(path.split("?")[0])
        ]
        return max(found, key=lambda pair: pair[0])[1] if found else None

    def validator(self, operation: Operation, status: str, media_type: str) -> jsonschema.Draft7Validator:
        """One per response of the schema: they are many answers to the same few responses."""
        key = (operation.label, status, media_type)
        if key not in self.validators:
            declared = operation.responses[status]["content"][media_type].get("schema", {})
            self.validators[key] = jsonschema.Draft7Validator({**json_schema(declared), **self.components})
        return self.validators[key]

    def violations(self, method: str, path: str, response: Any) -> list[str]:
        """What in this answer the schema does not promise (nothing when it keeps its word)."""
        operation = self.operation(method, path)
        where = f"{method.upper()} {path} -> {response.status_code}"
        if operation is None:
            return [f"{where}: no such operation in the schema"]
        declared = operation.responses.get(str(response.status_code))
        if declared is None:
            return [f"{where}: status not listed for {operation.label} (lists {sorted(operation.responses)})"]
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        content = declared.get("content", {})
        if not content:
            return [] if not response.content else [f"{where}: a body where the schema declares none"]
        if media_type not in content:
            return [f"{where}: content type {media_type!r} not declared (declares {sorted(content)})"]
        if media_type != "application/json":
            return []  # a file (PDF, XML, QR image, CSV): its type is the promise
        validator = self.validator(operation, str(response.status_code), media_type)
        return [f"{where}: {explain(error)}" for error in validator.iter_errors(response.json())]


def explain(error: jsonschema.ValidationError) -> str:
    """Where the body leaves the schema; inside a oneOf/anyOf, the closest alternative's reason."""
    if error.context:
        error = jsonschema.exceptions.best_match(error.context) or error
    return f"at {'/'.join(map(str, error.absolute_path)) or 'the top'}: {error.message[:300]}"


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(SchemaGenerator().get_schema(request=None, public=True))


# --- The matrix's answers -----------------------------------------------------------------------


def is_operation(path: str) -> bool:
    """An address of the API's operations (not its root, its schema or docs, nor the site's pages)."""
    return path.startswith(API_PREFIX) and path != API_PREFIX


def test_every_answer_of_the_permission_matrix_is_in_the_schema(contract: Contract) -> None:
    broken: list[str] = []
    for walked in matrix_walk():
        path = walked.response.wsgi_request.path
        if is_operation(path):
            broken += [
                f"{problem} (as {walked.role})" for problem in contract.violations(walked.method, path, walked.response)
            ]
    assert broken == [], "\n".join(dict.fromkeys(broken))


# --- Probes: the answers the matrix does not provoke -------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A request as one caller: `obj` names the world's object in the path, as the matrix does."""

    name: str
    method: str
    obj: str
    role: str
    query: str = ""
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()

    def path(self, world: World | None) -> str:
        """The address, with the world's object in it (without a world, a stand-in for it)."""
        kwargs: dict[str, Any] = {}
        if self.obj in ORDERS:
            kwargs = {"number": world.orders[self.obj].number if world else "ABCD-1234"}
            if self.name.startswith("v1:order-parcel-"):
                kwargs["parcel"] = 1
        elif self.obj.startswith("refund-"):
            kwargs = {
                "number": world.orders["cancelled_x"].number if world else "ABCD-1234",
                "refund_id": world.refunds[self.obj.removeprefix("refund-")].pk if world else 1,
            }
        elif self.obj.startswith("cust-"):
            kwargs = {"pk": world.customers[self.obj.removeprefix("cust-")].pk if world else 1}
        elif self.obj.startswith("inv-"):
            kwargs = {"pk": world.invoices[self.obj.removeprefix("inv-")].pk if world else 1}
        return reverse(self.name, kwargs=kwargs) + self.query

    def send(self, world: World) -> Any:
        path = self.path(world)

        def send(caller: Any) -> Any:
            return getattr(caller, self.method.lower())(path, self.body, format="json", **dict(self.headers))

        return cell_response(world, self.role, send)


# Input each operation refuses (400), sent by a caller the operation lets in.
BAD_INPUT = (
    Probe("v1:product-list", "GET", "-", "web", query="?price_min=cheap"),
    Probe("v1:category-list", "GET", "-", "web", query="?depth=deep"),
    Probe("v1:customer-resolve", "POST", "-", "web", body={"identities": []}),
    Probe("v1:customer-lookup", "GET", "-", "web", query="?kind=email"),
    Probe("v1:customer-detail", "PATCH", "cust-web", "web", body={"country": "Spain"}),
    Probe("v1:customer-consents", "POST", "cust-web", "web", body={"channel": "email"}),
    Probe("v1:customer-recently-viewed", "GET", "cust-web", "web", query="?limit=many"),
    Probe("v1:customer-recent-searches", "GET", "cust-web", "web", query="?limit=many"),
    Probe("v1:customer-loyalty", "GET", "cust-web", "web", query="?limit=many"),
    Probe("v1:event-list", "POST", "-", "web", body={"events": []}),
    Probe("v1:inventory-availability", "GET", "-", "web"),
    Probe("v1:inventory-changes", "GET", "-", "web", query="?after=yesterday"),
    Probe("v1:location-list", "GET", "-", "web", query="?kind=castle"),
    Probe("v1:inventory-adjustments", "POST", "-", "stX", body={"quantity": 0}),
    Probe("v1:inventory-receipts", "POST", "-", "stX", body={"lines": []}),
    Probe("v1:invoice-list", "GET", "-", "web", query="?date_from=yesterday"),
    Probe("v1:invoice-xml", "GET", "inv-web", "web", query="?syntax=pdf"),
    Probe("v1:invoice-exchange", "POST", "inv-web", "web", body={"tax_id": ""}),
    Probe("v1:invoice-export", "GET", "-", "acc", query="?date_from=2026-02-01&date_to=2026-01-01"),
    Probe("v1:order-list", "GET", "-", "web", query="?status=lost"),
    Probe("v1:order-list", "POST", "-", "web", body={"lines": []}),
    Probe("v1:order-list", "POST", "-", "web", body={"lines": []}, headers=(("HTTP_IDEMPOTENCY_KEY", "probe"),)),
    Probe("v1:order-payments", "POST", "unpaid_x", "web", body={"method": "cheque"}),
    Probe("v1:delivery-quote", "POST", "-", "web", body={"lines": [], "fulfilment_type": "teleport"}),
    Probe("v1:order-cancel", "POST", "pickup_x", "web", body={"reason": "x" * 201}),
    Probe("v1:order-refund-confirm", "POST", "refund-card", "web", body={"status": "maybe", "amount": "1.00"}),
    Probe("v1:order-ship", "POST", "ship_w", "wh", body={}),
    Probe("v1:order-parcel-ship", "POST", "ship_w", "wh", body={"carrier": "SEUR", "lines": [{"line": "first"}]}),
    Probe("v1:order-parcel-cancel", "POST", "ship_w", "web", body={"reason": "x" * 201}),
    Probe("v1:order-hand-over", "POST", "pickup_x", "tlX", body={}),
    Probe("v1:order-pickup-qr", "GET", "pickup_x", "web", query="?image=gif"),
    Probe("v1:pickup-redeem", "POST", "-", "lkA", body={}),
    Probe("v1:order-track", "GET", "pickup_x", "anon", query="?email=" + "x" * 255),
)
# Operations that read input yet refuse none of it: every value of their filters is a filter.
NO_BAD_INPUT = {"GET /api/v1/inventory/stock/": "`low` reads anything but true and false as unset"}
# Query parameters every list takes, and that never refuse a value (a page past the end is a 404).
LIST_PARAMETERS = {"page", "page_size", "ordering", "search"}


@pytest.fixture
def world() -> World:
    return world_create()


def test_refused_input_is_answered_as_the_schema_says(contract: Contract, world: World) -> None:
    broken = []
    for probe in BAD_INPUT:
        response = probe.send(world)
        path = response.wsgi_request.path
        if response.status_code != 400:
            broken.append(f"{probe.method} {path} as {probe.role}: {response.status_code}, not 400")
        broken += contract.violations(probe.method, path, response)
    assert broken == [], "\n".join(broken)


def test_every_operation_that_reads_input_has_a_probe_of_bad_input(contract: Contract) -> None:
    """A new operation, or a new parameter, is probed with input it refuses (or says why it refuses none)."""
    probed = {getattr(contract.operation(probe.method, probe.path(None)), "label", None) for probe in BAD_INPUT}
    reading = {
        operation.label
        for operation in contract.all_operations()
        if operation.body or set(operation.query_parameters) - LIST_PARAMETERS
    }
    assert reading - probed - set(NO_BAD_INPUT) == set()


def missing_objects(contract: Contract) -> Iterator[tuple[Operation, str]]:
    """Every operation on one object, at an address where there is none; every list, past its last page."""
    for operation in contract.all_operations():
        if "{" in operation.path:
            yield operation, re.sub(r"\{[^}]+\}", "0", operation.path)
        elif operation.paginated:
            yield operation, operation.path + "?page=999"


def test_what_is_not_there_is_answered_as_the_schema_says(contract: Contract) -> None:
    """Every operation on an object that does not exist, every list past its last page: a 404 as listed."""
    superuser = staff_api(UserFactory.create(is_staff=True, is_superuser=True))
    broken = []
    for operation, path in missing_objects(contract):
        caller = APIClient() if operation.public else superuser
        response = getattr(caller, operation.method)(path, format="json")
        if response.status_code != 404:
            broken.append(f"{operation.label} at {path}: {response.status_code}, not 404")
        broken += contract.violations(operation.method, path, response)
    assert broken == [], "\n".join(broken)


def test_a_caller_over_its_rate_is_answered_as_the_schema_says(
    contract: Contract, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every operation is throttled: each answers 429 to a caller past its rate, before it looks at anything."""
    monkeypatch.setattr(ChannelClientRateThrottle, "THROTTLE_RATES", {"channel_client": "1/hour"})
    monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, "order_tracking", "1/hour")
    # A credential for every scope (the channels' own), staff who may do anything, and nobody.
    made = [channel_client(channel) for channel in (Channel.WEB, Channel.STORE, Channel.LOCKER)]
    clients = [client for client, _ in made]
    callers = {client.pk: token_api(token) for client, token in made}
    superuser, anonymous = staff_api(UserFactory.create(is_staff=True, is_superuser=True)), APIClient()
    broken = []
    for operation in contract.all_operations():
        scope = operation.spec.get("x-required-scope")
        if operation.public:
            caller = anonymous
        elif scope:
            caller = callers[next(client.pk for client in clients if client.has_scope(scope))]
        else:
            caller = superuser
        path = re.sub(r"\{[^}]+\}", "0", operation.path)
        getattr(caller, operation.method)(path, format="json")  # the one request of the hour
        response = getattr(caller, operation.method)(path, format="json")
        if response.status_code != 429:
            broken.append(f"{operation.label}: {response.status_code}, not 429")
        broken += contract.violations(operation.method, path, response)
    assert broken == [], "\n".join(broken)


# --- The Idempotency-Key: what every write taking it answers about the key ----------------------

# Every write marked @idempotent (config.api.idempotency), as a caller it lets in.
IDEMPOTENT = (
    Probe("v1:customer-resolve", "POST", "-", "web"),
    Probe("v1:customer-consents", "POST", "cust-web", "web"),
    Probe("v1:event-list", "POST", "-", "web"),
    Probe("v1:inventory-adjustments", "POST", "-", "stX"),
    Probe("v1:inventory-receipts", "POST", "-", "stX"),
    Probe("v1:invoice-exchange", "POST", "inv-web", "web"),
    Probe("v1:order-payments", "POST", "unpaid_x", "web"),
    Probe("v1:order-cancel", "POST", "pickup_x", "web"),
    Probe("v1:order-ship", "POST", "ship_w", "wh"),
    Probe("v1:order-deliver", "POST", "ship_w", "wh"),
    Probe("v1:order-ready", "POST", "pickup_x", "stX"),
    Probe("v1:order-hand-over", "POST", "pickup_x", "tlX"),
    Probe("v1:order-transfers-received", "POST", "pickup_x", "stX"),
    Probe("v1:pickup-redeem", "POST", "-", "lkA"),
    Probe("v1:order-refund-confirm", "POST", "refund-card", "web"),
    Probe("v1:order-parcel-ship", "POST", "ship_w", "wh"),
    Probe("v1:order-parcel-deliver", "POST", "ship_w", "wh"),
    Probe("v1:order-parcel-cancel", "POST", "ship_w", "web"),
)


def takes_optional_key(operation: Operation) -> bool:
    return any(
        parameter["in"] == "header" and parameter["name"] == "Idempotency-Key" and not parameter.get("required")
        for parameter in operation.spec.get("parameters", [])
    )


def test_every_write_taking_an_idempotency_key_is_probed(contract: Contract) -> None:
    probed = {getattr(contract.operation(probe.method, probe.path(None)), "label", None) for probe in IDEMPOTENT}
    taking = {operation.label for operation in contract.all_operations() if takes_optional_key(operation)}

    assert taking - probed == set()
    assert len(taking) == len(IDEMPOTENT)


def test_a_bad_or_reused_idempotency_key_is_answered_as_the_schema_says(contract: Contract, world: World) -> None:
    from config.models import IdempotentRequest

    broken = []
    for probe in IDEMPOTENT:
        owner = (
            {"client": world.clients[probe.role]} if probe.role in world.clients else {"user": world.users[probe.role]}
        )
        bad = Probe(probe.name, "POST", probe.obj, probe.role, body={}, headers=(("HTTP_IDEMPOTENCY_KEY", "k" * 101),))

        def reuse(caller: Any, probe: Probe = probe, owner: dict[str, Any] = owner) -> Any:
            IdempotentRequest.objects.create(
                **owner, key="taken", operation="POST elsewhere", fingerprint="-", status_code=200
            )
            return caller.post(probe.path(world), {}, format="json", HTTP_IDEMPOTENCY_KEY="taken")

        answers = (
            (bad.send(world), 400, "invalid_idempotency_key"),
            (cell_response(world, probe.role, reuse), 409, "idempotency_key_reused"),
        )
        for response, expected, code in answers:
            path = response.wsgi_request.path
            got = (response.status_code, response.json().get("error", {}).get("code"))
            if got != (expected, code):
                broken.append(f"POST {path} as {probe.role}: {got}, not {(expected, code)}")
            broken += contract.violations("post", path, response)
    assert broken == [], "\n".join(broken)
