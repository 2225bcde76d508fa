"""Staff grant store credit and adjust loyalty points on the customer's admin page, with a reason, audited.

Each is a use case (customers.services: store_credit_grant_by_staff, loyalty_adjust_by_staff)
that records who and why on the ledger entry and on the customer's timeline. Customer service's
team lead and managers may; agents, accountants and the counter may not. Bad input is a form
error and changes nothing.
"""

from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from django.db import connection

from config.roles import Role
from customers.exceptions import InsufficientPoints, InvalidStoreCreditAmount
from customers.models import (
    Customer,
    CustomerEvent,
    EventKind,
    LoyaltyAccount,
    LoyaltyEntry,
    LoyaltyEntryKind,
    StoreCreditEntry,
)
from customers.services import (
    customer_erase,
    loyalty_adjust,
    loyalty_adjust_by_staff,
    store_credit_balance,
    store_credit_grant_by_staff,
)
from tests.api import admin_session
from tests.concurrency import run_at_once
from tests.factories import LocationFactory, customer_with_email, staff_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana() -> Customer:
    return customer_with_email("ana@example.com", name="Ana García")


@pytest.fixture
def lead() -> Any:
    return staff_with_role(Role.TEAM_LEAD, username="lead")


def credit_url(customer: Customer) -> str:
    return f"/admin/customers/customer/{customer.pk}/store-credit/"


def grant_form(*, amount: str, reason: str, currency: str = "EUR", form_token: str = "") -> dict[str, str]:
    """The grant page's POST, with the one-time token the page puts in it (a new one unless given)."""
    return {"amount": amount, "currency": currency, "reason": reason, "form_token": form_token or str(uuid4())}


def points_url(customer: Customer) -> str:
    return f"/admin/customers/customer/{customer.pk}/loyalty-points/"


def points(customer: Customer) -> int:
    account = LoyaltyAccount.objects.filter(customer=customer).first()
    return account.balance if account else 0


def ledgers() -> tuple[Any, ...]:
    """Everything a refused grant or adjustment must leave as it was."""
    return (
        StoreCreditEntry.objects.count(),
        LoyaltyEntry.objects.count(),
        CustomerEvent.objects.count(),
        sorted(LoyaltyAccount.objects.values_list("pk", "balance")),
    )


# --- Store credit -------------------------------------------------------------------------------


def test_a_team_lead_grants_store_credit_with_a_reason_on_the_ledger_and_the_timeline(ana: Customer, lead: Any) -> None:
    response = admin_session(lead).post(credit_url(ana), grant_form(amount="25.50", reason="Late delivery, sorry"))

    assert response.status_code == 302
    assert response["Location"] == f"/admin/customers/customer/{ana.pk}/change/"
    assert store_credit_balance(customer=ana, currency="EUR") == Decimal("25.50")
    entry = StoreCreditEntry.objects.get()
    assert (entry.amount, entry.reason, entry.created_by, entry.channel) == (
        Decimal("25.50"),
        "Late delivery, sorry",
        lead,
        "store",
    )
    event = CustomerEvent.objects.get(customer=ana, kind=EventKind.STORE_CREDIT_GRANTED)
    assert event.payload["reason"] == "Late delivery, sorry"
    assert event.payload["by"] == "lead"
    assert "Late delivery, sorry" in event.detail


@pytest.mark.parametrize(
    ("amount", "currency", "reason", "field"),
    [
        ("0", "EUR", "goodwill", "amount"),
        ("-5.00", "EUR", "goodwill", "amount"),
        ("1.005", "EUR", "goodwill", "amount"),  # over-precision
        ("5.50", "CLP", "goodwill", "amount"),  # pesos have no cents
        ("5.00", "XXX", "goodwill", "currency"),
        ("5.00", "EUR", "", "reason"),
        ("5.00", "EUR", "   ", "reason"),
    ],
)
def test_a_bad_grant_is_a_form_error_and_changes_nothing(
    ana: Customer, lead: Any, amount: str, currency: str, reason: str, field: str
) -> None:
    before = ledgers()

    response = admin_session(lead).post(credit_url(ana), grant_form(amount=amount, currency=currency, reason=reason))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert ledgers() == before


def test_the_service_refuses_bad_grants_whoever_calls_it(ana: Customer, lead: Any) -> None:
    before = ledgers()

    with pytest.raises(InvalidStoreCreditAmount) as caught:
        store_credit_grant_by_staff(customer=ana, amount=Decimal("1.001"), currency="EUR", reason=" ", user=lead)

    assert set(caught.value.fields) == {"amount", "reason"}
    assert ledgers() == before


def test_an_erased_customer_gets_no_grant(ana: Customer, lead: Any) -> None:
    customer_erase(customer=ana)
    ana.refresh_from_db()
    before = ledgers()

    response = admin_session(lead).post(credit_url(ana), grant_form(amount="5.00", reason="x"))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert ledgers() == before


# --- Loyalty points -----------------------------------------------------------------------------


def test_a_team_lead_adds_and_takes_points_with_a_reason(ana: Customer, lead: Any) -> None:
    session = admin_session(lead)

    added = session.post(points_url(ana), {"points": "300", "reason": "Birthday"})
    taken = session.post(points_url(ana), {"points": "-100", "reason": "Returned gift"})

    assert (added.status_code, taken.status_code) == (302, 302)
    assert points(ana) == 200
    entries = list(LoyaltyEntry.objects.order_by("pk").values_list("kind", "points", "reason", "created_by"))
    assert entries == [
        (LoyaltyEntryKind.ADJUST, 300, "Birthday", lead.pk),
        (LoyaltyEntryKind.ADJUST, -100, "Returned gift", lead.pk),
    ]
    timeline = CustomerEvent.objects.filter(customer=ana, kind=EventKind.LOYALTY_POINTS_ADJUSTED).order_by("pk")
    assert [(event.payload["change"], event.payload["by"]) for event in timeline] == [
        ("+300", "lead"),
        ("-100", "lead"),
    ]


@pytest.mark.parametrize(
    ("value", "reason", "field"),
    [("0", "x", "points"), ("-101", "x", "points"), ("1.5", "x", "points"), ("10", "", "reason")],
    ids=["zero", "below-zero", "not-whole", "no-reason"],
)
def test_a_bad_adjustment_is_a_form_error_and_changes_nothing(
    ana: Customer, lead: Any, value: str, reason: str, field: str
) -> None:
    loyalty_adjust(customer=ana, points=100, reason="welcome")
    before = ledgers()

    response = admin_session(lead).post(points_url(ana), {"points": value, "reason": reason})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert ledgers() == before
    assert points(ana) == 100


def test_the_service_never_takes_points_below_zero(ana: Customer, lead: Any) -> None:
    loyalty_adjust(customer=ana, points=50, reason="welcome")
    before = ledgers()

    with pytest.raises(InsufficientPoints) as caught:
        loyalty_adjust_by_staff(customer=ana, points=-51, reason="typo", user=lead)

    assert caught.value.extra["balance"] == 50
    assert ledgers() == before


def test_a_grant_above_the_ceiling_is_a_form_error_for_staff(ana: Customer, lead: Any, settings: Any) -> None:
    settings.STORE_CREDIT_GRANT_MAX = Decimal("100.00")
    before = ledgers()

    response = admin_session(lead).post(credit_url(ana), grant_form(amount="100.01", reason="goodwill"))

    assert response.status_code == 200
    assert "amount" in response.context["form"].errors
    assert ledgers() == before


def test_staff_grant_up_to_the_ceiling(ana: Customer, lead: Any, settings: Any) -> None:
    settings.STORE_CREDIT_GRANT_MAX = Decimal("100.00")

    response = admin_session(lead).post(credit_url(ana), grant_form(amount="100.00", reason="goodwill"))

    assert response.status_code == 302
    assert store_credit_balance(customer=ana, currency="EUR") == Decimal("100.00")


def test_a_superuser_grants_above_the_ceiling(ana: Customer, admin_client: Any, settings: Any) -> None:
    settings.STORE_CREDIT_GRANT_MAX = Decimal("100.00")

    response = admin_client.post(credit_url(ana), grant_form(amount="750.00", reason="a lost parcel of value"))

    assert response.status_code == 302
    assert store_credit_balance(customer=ana, currency="EUR") == Decimal("750.00")


def test_the_grant_page_carries_a_new_one_time_token_each_time(ana: Customer, lead: Any) -> None:
    session = admin_session(lead)

    first, second = (session.get(credit_url(ana)).context["form"]["form_token"].value() for _ in range(2))

    assert first is not None
    assert first != second


def test_the_same_grant_form_sent_twice_grants_once(ana: Customer, lead: Any) -> None:
    session = admin_session(lead)
    form = grant_form(amount="20.00", reason="Late delivery", form_token=str(uuid4()))

    responses = [session.post(credit_url(ana), form) for _ in range(2)]

    assert [r.status_code for r in responses] == [302, 302]
    assert store_credit_balance(customer=ana, currency="EUR") == Decimal("20.00")
    assert StoreCreditEntry.objects.count() == 1
    assert CustomerEvent.objects.filter(kind=EventKind.STORE_CREDIT_GRANTED).count() == 1


def test_a_form_token_used_for_another_customer_is_refused(ana: Customer, lead: Any) -> None:
    other = customer_with_email("luis@example.com", name="Luis")
    token = uuid4()
    store_credit_grant_by_staff(
        customer=ana, amount=Decimal("5.00"), currency="EUR", reason="x", user=lead, form_token=token
    )
    before = ledgers()

    with pytest.raises(InvalidStoreCreditAmount):
        store_credit_grant_by_staff(
            customer=other, amount=Decimal("5.00"), currency="EUR", reason="x", user=lead, form_token=token
        )

    assert ledgers() == before


@pytest.mark.django_db(transaction=True)
def test_the_same_grant_sent_twice_at_once_grants_once(ana: Customer, lead: Any) -> None:
    token = uuid4()

    def grant() -> Any:
        try:
            return store_credit_grant_by_staff(
                customer=ana, amount=Decimal("20.00"), currency="EUR", reason="x", user=lead, form_token=token
            )
        finally:
            connection.close()

    results = run_at_once([grant, grant])

    assert all(isinstance(result, StoreCreditEntry) for result in results), results
    assert {result.pk for result in results} == {StoreCreditEntry.objects.get().pk}
    assert store_credit_balance(customer=ana, currency="EUR") == Decimal("20.00")


# --- Who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.MANAGER])
def test_team_leads_and_managers_see_the_links_and_the_pages(ana: Customer, role: Role) -> None:
    session = admin_session(staff_with_role(role))

    page = session.get(f"/admin/customers/customer/{ana.pk}/change/").content.decode()

    assert credit_url(ana) in page
    assert points_url(ana) in page
    assert session.get(credit_url(ana)).status_code == 200
    assert session.get(points_url(ana)).status_code == 200


@pytest.mark.parametrize("role", [Role.AGENT, Role.ACCOUNTANT, Role.STORE_STAFF, Role.STORE_MANAGER])
def test_others_neither_see_the_links_nor_grant(ana: Customer, role: Role) -> None:
    session = admin_session(staff_with_role(role, LocationFactory.create()))
    before = ledgers()

    change = session.get(f"/admin/customers/customer/{ana.pk}/change/")
    granted = session.post(credit_url(ana), grant_form(amount="5.00", reason="x"))
    adjusted = session.post(points_url(ana), {"points": "5", "reason": "x"})

    assert credit_url(ana) not in change.content.decode()
    assert (granted.status_code, adjusted.status_code) == (403, 403)
    assert ledgers() == before
