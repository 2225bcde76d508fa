"""The permission matrix of the API and the site: every operation by every kind of caller, in one table.

Read a row as "this request, made by each of these callers, answers...":
- `ok`    done (2xx)
- `400`, `409`  past every access rule, then the body or the order's state was judged (the objects
          are in the state where the rules run: `pickup_x` is paid and ready, so a hand-over with a
          wrong code is a 400 only for who may hand it over)
- `401`   no credential; `403` refused (missing scope, permission, binding); `404` not found —
          another's object answers exactly like a missing one
- `moved` a redirect (the language switch)

Callers (columns): anon = nobody; web = the web shop (first party, reaches every customer);
mkt = a marketplace (third party, its own customers and orders); lkA/lkB = locker clients bound
to lockers A and B; tlX = the till of store X (first party, `orders:fulfil`, bound to X); stX/stY = store staff of stores X and Y; wh = warehouse staff; agt =
customer-service agent; acc = accountant; mgr = manager; su = superuser.

Objects: the orders `pickup_x` (web, picked up at store X, paid and ready), `paid_x` (the same,
not put aside yet), `unpaid_x` (web, at store X, not paid yet), `ship_w` (web, shipped from the
warehouse: paid, its one parcel waiting there), `locker_a` (web, locker A, goods on their way),
`mkt` (the marketplace's, shipped from the warehouse), `cancelled_x` (web, at store X, paid 5.00 in cash at the till of X and the rest by
card through the web shop, then cancelled: its refunds `refund-card` and `refund-cash` are
pending); the customers `web` and `mkt` brought by each; their invoices.

The site's other pages (health check, language switch) have their rows here too: a page of the
project outside the admin without a row fails `test_every_page_outside_the_admin_has_a_row`.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from orders.codes import pickup_code
from tests.config.access_world import ROLES, World, answer_of, cell_response, site_url_names, world_create

pytestmark = pytest.mark.django_db

# fmt: off
MATRIX = """
url name                      method object      anon  web   mkt   lkA   lkB   tlX   stX   stY   wh    agt   acc   mgr   su
v1:api-root                   GET    -           ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok
api-schema                    GET    -           ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok
api-docs                      GET    -           ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok
v1:product-list               GET    -           401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:product-detail             GET    product     401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:variant-detail             GET    variant     401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:category-list              GET    -           401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:category-detail            GET    category    401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:customer-resolve           POST   identities  401   ok    ok    403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-lookup            GET    web-email   401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-lookup            GET    mkt-email   401   ok    ok    403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-detail            GET    cust-web    401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-detail            GET    cust-mkt    401   ok    ok    403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-detail            PATCH  cust-web    401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-detail            PATCH  cust-mkt    401   ok    ok    403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-consents          GET    cust-web    401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-consents          POST   cust-web    401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-consents          POST   cust-mkt    401   ok    ok    403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-recently-viewed   GET    cust-web    401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-recent-searches   GET    cust-web    401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-loyalty           GET    cust-web    401   ok    404   403   403   ok    403   403   403   ok    403   ok    ok
v1:customer-timeline          GET    cust-web    401   403   403   403   403   403   403   403   403   ok    403   ok    ok
v1:customer-export            GET    cust-web    401   403   403   403   403   403   403   403   403   403   403   ok    ok
v1:event-list                 POST   events      401   ok    ok    403   403   ok    403   403   403   403   403   403   403
v1:segment-list               GET    -           401   ok    403   403   403   403   403   403   403   ok    403   ok    ok
v1:segment-detail             GET    segment     401   ok    403   403   403   403   403   403   403   ok    403   ok    ok
v1:segment-members            GET    segment     401   ok    403   403   403   403   403   403   403   ok    403   ok    ok
v1:inventory-availability     GET    sku         401   ok    ok    403   403   ok    ok    ok    ok    ok    403   ok    ok
v1:inventory-changes          GET    -           401   ok    ok    403   403   ok    ok    ok    ok    403   403   ok    ok
v1:location-list              GET    -           401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:location-detail            GET    location    401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:stock-level-list           GET    -           401   403   403   403   403   403   ok    ok    ok    ok    403   ok    ok
v1:inventory-adjustments      POST   adjust-x    401   403   403   403   403   403   ok    403   403   403   403   ok    ok
v1:inventory-receipts         POST   receive-x   401   403   403   403   403   403   ok    403   403   403   403   ok    ok
v1:invoice-list               GET    -           401   ok    ok    403   403   ok    403   403   403   ok    ok    ok    ok
v1:invoice-detail             GET    inv-web     401   ok    404   403   403   ok    403   403   403   ok    ok    ok    ok
v1:invoice-detail             GET    inv-mkt     401   ok    ok    403   403   ok    403   403   403   ok    ok    ok    ok
v1:invoice-pdf                GET    inv-web     401   ok    404   403   403   ok    403   403   403   ok    ok    ok    ok
v1:invoice-xml                GET    inv-web     401   409   404   403   403   409   403   403   403   409   409   409   409
v1:invoice-exchange           POST   inv-web     401   ok    403   403   403   ok    403   403   403   403   ok    ok    ok
v1:invoice-export             GET    dates       401   403   403   403   403   403   403   403   403   403   ok    ok    ok
v1:order-list                 GET    -           401   ok    ok    403   403   ok    ok    ok    ok    ok    ok    ok    ok
v1:order-detail               GET    pickup_x    401   ok    404   403   403   ok    ok    404   404   ok    ok    ok    ok
v1:order-detail               GET    ship_w      401   ok    404   403   403   ok    404   404   ok    ok    ok    ok    ok
v1:order-detail               GET    mkt         401   ok    ok    403   403   ok    404   404   ok    ok    ok    ok    ok
v1:order-list                 POST   new-order   401   ok    ok    403   403   ok    ok    ok    403   ok    403   ok    ok
v1:delivery-quote             POST   quote       401   ok    ok    403   403   ok    ok    ok    403   ok    403   ok    ok
v1:delivery-quote             POST   quote-bad   401   400   400   403   403   400   400   400   403   400   403   400   400
v1:order-payments             POST   unpaid_x    401   ok    404   403   403   ok    ok    404   404   403   403   ok    ok
v1:order-cancel               POST   pickup_x    401   ok    404   403   403   ok    403   404   404   ok    403   ok    ok
v1:order-cancel               POST   mkt         401   403   ok    403   403   403   404   404   403   ok    403   ok    ok
v1:order-refund-confirm       POST   refund-card 401   ok    404   403   403   404   403   404   404   403   403   403   403
v1:order-refund-confirm       POST   refund-cash 401   404   404   403   403   ok    ok    404   404   403   403   ok    ok
v1:order-ready                POST   paid_x      401   403   403   403   403   ok    ok    404   404   403   403   ok    ok
v1:order-hand-over            POST   pickup_x    401   403   403   403   403   400   400   404   404   403   403   400   400
v1:order-transfers-received   POST   locker_a    401   403   403   403   403   403   404   404   403   403   403   409   409
v1:order-ship                 POST   ship_w      401   403   403   403   403   403   404   404   ok    403   403   ok    ok
v1:order-deliver              POST   ship_w      401   403   403   403   403   403   404   404   409   403   403   409   409
v1:order-parcel-ship          POST   ship_w      401   403   403   403   403   403   404   404   ok    403   403   ok    ok
v1:order-parcel-deliver       POST   ship_w      401   403   403   403   403   403   404   404   409   403   403   409   409
v1:order-parcel-cancel        POST   ship_w      401   ok    404   403   403   403   404   404   403   ok    403   ok    ok
v1:order-pickup-code          GET    pickup_x    401   ok    404   403   403   404   403   404   404   ok    403   ok    ok
v1:order-pickup-qr            GET    pickup_x    401   ok    404   403   403   404   403   404   404   ok    403   ok    ok
v1:order-pickup-code          GET    locker_a    401   ok    404   403   403   404   404   404   403   ok    403   ok    ok
v1:pickup-redeem              POST   code-a      401   403   403   409   404   403   403   403   403   403   403   403   403
v1:pickup-redeem              POST   code-a-at-a 401   403   403   409   403   403   403   403   403   403   403   403   403
v1:order-track                GET    pickup_x    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok
healthz                       GET    -           ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok    ok
set_language                  POST   language    moved moved moved moved moved moved moved moved moved moved moved moved moved
"""
# fmt: on


def parse(table: str) -> list[tuple[str, str, str, dict[str, str]]]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    roles = header[4:]  # "url name" is two words
    assert tuple(roles) == ROLES, roles
    parsed = []
    for row in rows:
        name, method, obj, answers = row[0], row[1], row[2], row[3:]
        assert len(answers) == len(ROLES), row
        parsed.append((name, method, obj, dict(zip(ROLES, answers, strict=True))))
    return parsed


ROWS = parse(MATRIX)


def test_every_page_outside_the_admin_has_a_row() -> None:
    assert site_url_names() - {name for name, *_ in ROWS} == set()


def test_the_table_names_only_real_urls() -> None:
    assert {name for name, *_ in ROWS} - site_url_names() == set()


def request_for(world: World, name: str, method: str, obj: str) -> Callable[[Any], Any]:
    """How one row's request is made, whoever makes it."""
    orders, customers, invoices = world.orders, world.customers, world.invoices
    kwargs: dict[str, Any] = {}
    body: dict[str, Any] = {}
    query = ""
    headers: dict[str, str] = {}
    if obj in orders:
        kwargs = {"number": orders[obj].number}
        if name in ("v1:order-parcel-ship", "v1:order-parcel-deliver", "v1:order-parcel-cancel"):
            kwargs["parcel"] = 1  # the order's one parcel, from the warehouse, planned at payment
    elif obj.startswith("refund-"):
        refund = world.refunds[obj.removeprefix("refund-")]
        kwargs = {"number": orders["cancelled_x"].number, "refund_id": refund.pk}
        body = {"status": "succeeded", "amount": str(refund.amount), "provider_reference": "re-matrix"}
    elif obj.startswith("cust-"):
        kwargs = {"pk": customers[obj.removeprefix("cust-")].pk}
    elif obj.startswith("inv-"):
        kwargs = {"pk": invoices[obj.removeprefix("inv-")].pk}
    elif obj == "product":
        kwargs = {"pk": world.shirt.product_id}
    elif obj == "variant":
        kwargs = {"sku": world.shirt.sku}
    elif obj == "category":
        kwargs = {"pk": world.shirt.product.category_id}
    elif obj == "segment":
        kwargs = {"pk": world.segment.pk}
    elif obj == "location":
        kwargs = {"code": world.store_x.code}
    elif obj == "web-email":
        query = "?kind=email&value=ana@example.com"
    elif obj == "mkt-email":
        query = "?kind=email&value=luis@example.com"
    elif obj == "sku":
        query = f"?sku={world.shirt.sku}"
    elif obj == "dates":
        query = "?date_from=2026-01-01&date_to=2026-12-31"
    elif obj == "identities":
        body = {"identities": [{"kind": "email", "value": "new@example.com"}]}
    elif obj == "events":
        event = {"kind": "search", "query": "camiseta", "occurred_at": "2026-12-01T10:00:00Z"}
        body = {"events": [{**event, "identity": {"kind": "email", "value": "ana@example.com"}}]}
    elif obj == "adjust-x":
        body = {"location": world.store_x.code, "sku": world.shirt.sku, "quantity": 1, "reason": "found"}
    elif obj == "receive-x":
        body = {
            "location": world.store_x.code,
            "reference": "albarán 7",
            "lines": [{"sku": world.shirt.sku, "quantity": 1}],
        }
    elif obj == "new-order":
        body = {
            "email": "eva@example.com",
            "lines": [{"sku": world.shirt.sku, "quantity": 1}],
            "fulfilment_type": "pickup",
            "pickup_location": world.store_x.code,
        }
        headers = {"HTTP_IDEMPOTENCY_KEY": "matrix-new-order"}
    elif obj in ("quote", "quote-bad"):
        body = {
            "lines": [{"sku": world.shirt.sku if obj == "quote" else "NO-SUCH-SKU", "quantity": 1}],
            "fulfilment_type": "ship",
            "shipping_address": {"country": "ES", "postal_code": "28013"},
        }
    elif obj in ("code-a", "code-a-at-a"):
        order = orders["locker_a"]
        body = {"code": pickup_code(number=order.number, secret=order.pickup_secret)}
        if obj == "code-a-at-a":
            body["location"] = world.locker_a.code
    if obj == "language":
        body = {"language": "es", "next": "/admin/"}
    if name == "v1:order-track":
        query = "?email=ana@example.com"
    if name == "v1:customer-detail" and method == "PATCH":
        body = {"city": "Cádiz"}
    if name == "v1:customer-consents" and method == "POST":
        body = {"channel": "email", "purpose": "marketing", "granted": True, "source": "matrix"}
    if name == "v1:order-payments":
        body = {"method": "card", "amount": "1.00", "provider_reference": "matrix-capture"}
    if name in ("v1:order-cancel", "v1:order-parcel-cancel"):
        body = {"reason": "matrix"}
    if name == "v1:order-hand-over":
        body = {"code": "WRONG-CODE"}
    if name in ("v1:order-ship", "v1:order-parcel-ship"):
        body = {"carrier": "SEUR", "tracking_number": "X1"}
    if name == "v1:invoice-exchange":
        body = {
            "name": "Ana García",
            "tax_id": "12345678Z",
            "country": "ES",
            "street": "Calle Luna 3",
            "city": "Sevilla",
            "postal_code": "41001",
        }
    url = reverse(name, kwargs=kwargs) + query

    def send(caller: Any) -> Any:
        return getattr(caller, method.lower())(url, body or None, format="json", **headers)

    return send


@dataclass(frozen=True)
class Walked:
    """One cell of the matrix as it was answered."""

    name: str
    method: str
    obj: str
    role: str
    response: Any


@functools.cache
def matrix_walk() -> tuple[Walked, ...]:
    """Every row's request made by every caller, once per test process.

    Two tests read the same answers: this module their statuses, `test_openapi_contract` their
    bodies against the OpenAPI schema. The walk's rows are rolled back; the answers are plain data.
    """
    world = world_create()
    return tuple(
        Walked(name, method, obj, role, cell_response(world, role, request_for(world, name, method, obj)))
        for name, method, obj, _ in ROWS
        for role in ROLES
    )


def test_the_api_answers_as_the_matrix_says() -> None:
    answered = {(c.name, c.method, c.obj, c.role): answer_of(c.response) for c in matrix_walk()}
    wrong, actual = [], []
    for name, method, obj, expected in ROWS:
        got = {role: answered[name, method, obj, role] for role in ROLES}
        actual.append(f"{name:<33} {method:<7} {obj:<13} " + " ".join(f"{got[role]:<3}" for role in ROLES))
        wrong += [
            f"{name} {method} {obj} as {role}: expected {expected[role]}, got {got[role]}"
            for role in ROLES
            if got[role] != expected[role]
        ]
    assert wrong == [], "\n" + "\n".join(wrong) + "\n\nThe answers as a table:\n" + "\n".join(actual)
