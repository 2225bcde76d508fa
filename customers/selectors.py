from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from catalog.models import Variant
from config.models import ChannelClient
from customers.identities import IdentityKind, identity_normalise
from customers.models import (
    BroughtCustomer,
    Consent,
    ConsentPurpose,
    ContactPoint,
    Customer,
    CustomerEvent,
    EventKind,
    LoyaltyAccount,
    LoyaltyEntry,
)
from customers.tax_ids import tax_id_normalise


def customer_list() -> QuerySet[Customer]:
    return Customer.objects.prefetch_related(
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("kind", "id"))
    ).select_related("loyalty_account")


def customers_reached(queryset: QuerySet[Customer], *, client: ChannelClient | None) -> QuerySet[Customer]:
    """Narrow `queryset` to the customers a caller reaches (config.scopes).

    `client=None` is staff, who reach every customer, erased ones too (the admin shows them).
    A channel never sees an erased profile; a client reaching all sees every other one, and
    any other client only the customers it brought. Filtered in the same query: another's
    customer is simply absent, so it answers 404 like a missing one.
    """
    if client is None:
        return queryset
    queryset = queryset.filter(erased_at=None)
    if client.reaches_all:
        return queryset
    return queryset.filter(Exists(BroughtCustomer.objects.filter(client=client, customer=OuterRef("pk"))))


def customer_reached_by(*, customer: Customer, client: ChannelClient) -> bool:
    """Whether a channel client reaches this customer (as `customers_reached` narrows): one query at most."""
    if customer.erased_at is not None:
        return False
    return client.reaches_all or BroughtCustomer.objects.filter(client=client, customer=customer).exists()


def customer_list_for(*, client: ChannelClient | None = None) -> QuerySet[Customer]:
    """The profiles a caller reaches: staff (`client=None`) every one, a channel client its reach."""
    return customers_reached(customer_list(), client=client)


def customer_find_by_identity(*, kind: str, value: str, client: ChannelClient | None = None) -> Customer | None:
    """The customer owning an identity, however it was typed, if the caller reaches them.

    `client=None` (staff, demo and commands) finds any customer. Raises ValidationError if malformed.
    """
    normalised = identity_normalise(kind, value)
    return (
        customer_list_for(client=client)
        .filter(contact_points__kind=kind, contact_points__normalised_value=normalised)
        .first()
    )


def customer_search_q(term: str) -> Q:
    """Match a typed term against any identity (normalised as each kind would be), tax id or name."""
    term = term.strip()
    q = Q(name__icontains=term)
    normalised = set()
    for kind in IdentityKind.values:
        try:
            normalised.add(identity_normalise(kind, term))
        except ValidationError:
            continue
    if normalised:
        q |= Q(Exists(ContactPoint.objects.filter(customer=OuterRef("pk"), normalised_value__in=normalised)))
    try:
        q |= Q(tax_id=tax_id_normalise(term))
    except ValidationError:
        q |= Q(tax_id__iexact=term)
    return q


@dataclass(frozen=True)
class RecentlyViewed:
    sku: str
    last_viewed_at: datetime
    variant: Variant | None


def personalisation_withdrawn(*, customer: Customer) -> Q:
    """True, as a filter, when a personalisation consent in force on any channel is a withdrawal.

    The newest row per channel and purpose holds (as `consent_current` reads it). The browsing
    lists mix every channel, so a withdrawal on one channel empties them everywhere until a newer
    grant on that channel; a customer never asked keeps them. Not correlated to the outer rows:
    the database evaluates it once per query.
    """
    newer = Consent.objects.filter(
        customer=customer, purpose=ConsentPurpose.PERSONALISATION, channel=OuterRef("channel")
    ).filter(Q(recorded_at__gt=OuterRef("recorded_at")) | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id")))
    withdrawn = Consent.objects.filter(customer=customer, purpose=ConsentPurpose.PERSONALISATION, granted=False)
    return Q(Exists(withdrawn.filter(~Exists(newer))))


def customer_browsing_events(*, customer: Customer, kind: str) -> QuerySet[CustomerEvent]:
    """The customer's events of this kind, none while personalisation is withdrawn (the timeline keeps them)."""
    return CustomerEvent.objects.filter(customer=customer, kind=kind).exclude(
        personalisation_withdrawn(customer=customer)
    )


def customer_recently_viewed(*, customer: Customer, limit: int = 20) -> list[RecentlyViewed]:
    """Distinct products viewed, newest first, across every channel and device: two queries at most.

    Empty while personalisation is withdrawn (`personalisation_withdrawn`).
    """
    rows = list(
        customer_browsing_events(customer=customer, kind=EventKind.PRODUCT_VIEWED)
        .exclude(sku="")
        .values("sku")
        .annotate(last_viewed_at=Max("occurred_at"))
        .order_by("-last_viewed_at", "sku")[:limit]
    )
    variants = Variant.objects.select_related("product__category", "product__tax_category").in_bulk(
        [row["sku"] for row in rows], field_name="sku"
    )
    return [RecentlyViewed(row["sku"], row["last_viewed_at"], variants.get(row["sku"])) for row in rows]


@dataclass(frozen=True)
class RecentSearch:
    query: str
    last_searched_at: datetime


def customer_recent_searches(*, customer: Customer, limit: int = 20) -> list[RecentSearch]:
    """Distinct queries, newest first, across every channel: one query. Empty while personalisation is withdrawn."""
    rows = (
        customer_browsing_events(customer=customer, kind=EventKind.SEARCH)
        .exclude(query="")
        .values("query")
        .annotate(last_searched_at=Max("occurred_at"))
        .order_by("-last_searched_at", "query")[:limit]
    )
    return [RecentSearch(row["query"], row["last_searched_at"]) for row in rows]


def customer_timeline(*, customer: Customer) -> QuerySet[CustomerEvent]:
    return CustomerEvent.objects.filter(customer=customer).order_by("-occurred_at", "-id")


def consent_current(*, customer: Customer) -> list[Consent]:
    """The consent in force per channel and purpose (the newest row of each)."""
    latest: dict[tuple[str, str], Consent] = {}
    for consent in Consent.objects.filter(customer=customer).order_by("-recorded_at", "-id"):
        latest.setdefault((consent.channel, consent.purpose), consent)
    return sorted(latest.values(), key=lambda c: (c.channel, c.purpose))


def customer_list_reachable(*, channel: str, purpose: str) -> QuerySet[Customer]:
    """Customers a message of this purpose may reach on this channel: their newest consent says yes.

    Marketing code must pick its audience through here.
    """
    latest = (
        Consent.objects.filter(customer=OuterRef("pk"), channel=channel, purpose=purpose)
        .order_by("-recorded_at", "-id")
        .values("granted")[:1]
    )
    return (
        Customer.objects.filter(erased_at=None).annotate(consent_granted=Subquery(latest)).filter(consent_granted=True)
    )


def loyalty_entries_for(*, customer: Customer) -> QuerySet[LoyaltyEntry]:
    return LoyaltyEntry.objects.filter(account__customer=customer).order_by("-created_at", "-id")


def loyalty_account_ids_due_to_expire() -> list[int]:
    """Accounts with points and no activity for LOYALTY_EXPIRY_DAYS (none if the setting is 0)."""
    days = settings.LOYALTY_EXPIRY_DAYS
    if days <= 0:
        return []
    cutoff = timezone.now() - timedelta(days=days)
    return list(
        LoyaltyAccount.objects.filter(balance__gt=0)
        .filter(Q(last_activity_at__lt=cutoff) | Q(last_activity_at=None, created_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
