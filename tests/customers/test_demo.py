"""The customer demo: profiles seen on several channels, with timelines, consents and points; loadable twice."""

import pytest
from django.db.models import Count, Sum

from catalog import demo as catalog_demo
from catalog.models import Variant
from config.channels import Channel
from customers import demo as customers_demo
from customers.identities import IdentityKind
from customers.models import (
    Consent,
    ConsentPurpose,
    ContactPoint,
    Customer,
    CustomerEvent,
    DuplicateCandidate,
    DuplicateReason,
    DuplicateStatus,
    EventKind,
    LoyaltyAccount,
    LoyaltyEntry,
    LoyaltyEntryKind,
    Segment,
)
from customers.segments import segment_members
from customers.tax_ids import tax_id_normalise

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Customer, ContactPoint, CustomerEvent, Consent, LoyaltyEntry, DuplicateCandidate, Segment)
    }


# The demo catalogue takes seconds to load: one test loads it and checks everything the demo is for.
def test_customer_demo_is_idempotent_and_realistic() -> None:
    catalog_demo.load()
    created = customers_demo.load()
    first = counts()

    catalog_demo.load()
    again = customers_demo.load()

    # Idempotent: the second run reports and creates nothing.
    assert list(created.values()) == list(first.values())
    assert all(first.values())
    assert set(again.values()) == {0}
    assert counts() == first

    # Profiles with identities of several kinds, typed as people do, normalised.
    assert 35 <= first["Customer"] <= 50
    assert {
        IdentityKind.EMAIL,
        IdentityKind.PHONE,
        IdentityKind.WHATSAPP,
        IdentityKind.INSTAGRAM,
        IdentityKind.WEB_ACCOUNT,
        IdentityKind.APP_DEVICE,
        IdentityKind.LOYALTY_CARD,
    } <= set(ContactPoint.objects.values_list("kind", flat=True))
    kinds_per_customer = Customer.objects.annotate(kinds=Count("contact_points__kind", distinct=True))
    assert not kinds_per_customer.filter(kinds=0).exists()
    assert kinds_per_customer.filter(kinds__gte=3).count() >= 10
    phones = list(ContactPoint.objects.filter(kind__in=["phone", "whatsapp"]).values_list("value", "normalised_value"))
    assert any(value.startswith("6") and " " in value for value, _normalised in phones)
    assert {"+34", "+54", "+56", "+52"} <= {normalised[:3] for _value, normalised in phones}
    assert {"ES", "AR", "CL", "MX"} <= set(Customer.objects.values_list("country", flat=True))
    tax_ids = list(Customer.objects.exclude(tax_id="").values_list("tax_id", "country"))
    assert len(tax_ids) >= 5
    assert all(tax_id_normalise(tax_id, country) == tax_id for tax_id, country in tax_ids)

    # Timelines: real SKUs viewed on the web and in the app, searches, store visits.
    events = CustomerEvent.objects.all()
    views = events.filter(kind=EventKind.PRODUCT_VIEWED)
    assert set(views.values_list("sku", flat=True)) <= set(Variant.objects.values_list("sku", flat=True))
    assert {Channel.WEB, Channel.APP} <= set(views.values_list("channel", flat=True))
    assert events.filter(kind=EventKind.SEARCH, query="portátil gaming").exists()
    assert events.filter(kind=EventKind.STORE_VISIT, channel=Channel.STORE, location_code="MAD-CENTRO").exists()

    # Consents given, and a few withdrawn later on the same channel and purpose.
    consents = Consent.objects.all()
    assert consents.filter(granted=True, purpose=ConsentPurpose.MARKETING).exists()
    assert consents.filter(granted=True, purpose=ConsentPurpose.PERSONALISATION).exists()
    withdrawn = list(consents.filter(granted=False))
    assert withdrawn
    for consent in withdrawn:
        assert consents.filter(
            customer=consent.customer_id,
            channel=consent.channel,
            purpose=consent.purpose,
            granted=True,
            recorded_at__lt=consent.recorded_at,
        ).exists()

    # Loyalty balances, each explained by its ledger.
    accounts = LoyaltyAccount.objects.annotate(ledger=Sum("entries__points"))
    assert accounts.filter(balance__gt=0).count() >= 10
    assert all(account.balance == account.ledger for account in accounts)
    assert LoyaltyEntry.objects.filter(kind=LoyaltyEntryKind.EARN, reference="DEMO-0001").exists()
    assert LoyaltyEntry.objects.filter(kind=LoyaltyEntryKind.REDEEM).exists()

    # The duplicate queue has work: same name and birth date, same tax id.
    reasons = set(DuplicateCandidate.objects.filter(status=DuplicateStatus.OPEN).values_list("reason", flat=True))
    assert {DuplicateReason.SAME_NAME_AND_BIRTH_DATE, DuplicateReason.SHARED_TAX_ID} <= reasons

    # Segments that staff can preview.
    segments = list(Segment.objects.all())
    assert len(segments) >= 2
    assert all(segment_members(rules=segment.rules).exists() for segment in segments)


def test_the_demo_shows_store_credit_and_points_given_by_hand() -> None:
    from config import demo as config_demo
    from customers.models import StoreCreditEntry

    config_demo.load()  # the superuser who gives them
    catalog_demo.load()
    customers_demo.load()

    credit = StoreCreditEntry.objects.get(created_by__isnull=False)
    adjusted = LoyaltyEntry.objects.get(kind=LoyaltyEntryKind.ADJUST, created_by__isnull=False)
    assert credit.reason
    assert adjusted.reason
    assert credit.account.customer == adjusted.account.customer
    kinds = set(CustomerEvent.objects.filter(customer=credit.account.customer).values_list("kind", flat=True))
    assert {EventKind.STORE_CREDIT_GRANTED, EventKind.LOYALTY_POINTS_ADJUSTED} <= kinds
