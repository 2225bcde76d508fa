"""One profile across every channel: turn identities into the one customer who owns them."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils.translation import gettext

from config.models import ChannelClient
from config.transactions import use_case
from customers.identities import identity_normalise
from customers.models import (
    BroughtCustomer,
    ContactPoint,
    Customer,
    DuplicateCandidate,
    DuplicateReason,
    DuplicateStatus,
)
from customers.selectors import customer_reached_by

RESOLVE_ATTEMPTS = 3


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str
    normalised: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.normalised)

    def contact_point(self, *, customer: Customer, channel: str) -> ContactPoint:
        """An unsaved identity row for a customer, first seen on a channel."""
        return ContactPoint(
            customer=customer, kind=self.kind, value=self.value, normalised_value=self.normalised, channel=channel
        )


@dataclass
class Resolution:
    customer: Customer
    created: bool
    # Other profiles that own some of the identities: recorded as duplicate candidates.
    possible_duplicates: list[Customer] = field(default_factory=list)
    # Whether the calling client reaches this customer (config.scopes); staff always do.
    reached: bool = True


def identity_parse(*, kind: str, value: str) -> Identity:
    return Identity(kind=kind, value=(value or "").strip(), normalised=identity_normalise(kind, value))


def identities_parse(identities: Iterable[Mapping[str, str]]) -> list[Identity]:
    """Validate and normalise; errors are reported per position, nothing is half-accepted."""
    parsed: list[Identity] = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(identities):
        try:
            parsed.append(identity_parse(kind=item.get("kind", ""), value=item.get("value", "")))
        except ValidationError as exc:
            errors[f"identities[{index}]"] = exc.messages
    if errors:
        raise ValidationError(errors)
    if not parsed:
        raise ValidationError({"identities": [gettext("Send at least one identity.")]}, code="required")
    unique = {identity.key: identity for identity in parsed}
    return list(unique.values())


def identities_q(identities: Iterable[Identity]) -> Q:
    """One OR per identity kind: a batch of 1,000 identities stays a short query."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for identity in identities:
        by_kind[identity.kind].append(identity.normalised)
    q = Q(pk__in=[])
    for kind, values in by_kind.items():
        q |= Q(kind=kind, normalised_value__in=values)
    return q


def duplicate_candidates_record(*, customer: Customer, others: Iterable[Customer], reason: str) -> None:
    """Record pairs for staff to review; a pair already recorded is left as it is."""
    rows = []
    for other in others:
        if other.pk == customer.pk:
            continue
        low, high = sorted((customer.pk, other.pk))
        rows.append(DuplicateCandidate(customer_id=low, other_id=high, reason=reason))
    DuplicateCandidate.objects.bulk_create(rows, ignore_conflicts=True)


def _resolve_once(*, identities: list[Identity], name: str, channel: str, client: ChannelClient | None) -> Resolution:
    points = list(ContactPoint.objects.filter(identities_q(identities)).select_related("customer"))
    owners: dict[int, Customer] = {point.customer_id: point.customer for point in points}
    created = False
    duplicates: list[Customer] = []
    if not owners:
        customer = Customer.objects.create(name=name, first_seen_channel=channel)
        created = True
        if client is not None:
            BroughtCustomer.objects.create(client=client, customer=customer)
    elif len(owners) == 1:
        customer = next(iter(owners.values()))
    else:
        # Never merge silently: the owner of most identities (then the oldest) serves now.
        matches = Counter(point.customer_id for point in points)
        best_id = min(owners, key=lambda pk: (-matches[pk], pk))
        customer = owners[best_id]
        duplicates = [owner for pk, owner in owners.items() if pk != best_id]
        duplicate_candidates_record(customer=customer, others=duplicates, reason=DuplicateReason.IDENTITY_CONFLICT)

    if not created and client is not None and not customer_reached_by(customer=customer, client=client):
        # Another channel's customer: this client may refer to them (its order is theirs), but
        # adds nothing to their profile: no identity of its own, no name.
        return Resolution(customer=customer, created=False, possible_duplicates=duplicates, reached=False)
    known = {(point.kind, point.normalised_value) for point in points}
    # Sorted: concurrent inserts take the unique index in one order and cannot deadlock.
    missing = sorted((identity for identity in identities if identity.key not in known), key=lambda i: i.key)
    if missing:
        ContactPoint.objects.bulk_create(
            identity.contact_point(customer=customer, channel=channel) for identity in missing
        )
    if name and not customer.name:
        customer.name = name
        customer.save(update_fields=["name", "updated_at"])
    return Resolution(customer=customer, created=created, possible_duplicates=duplicates)


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


@use_case
def customer_resolve(
    *,
    identities: Iterable[Mapping[str, str]],
    channel: str,
    name: str = "",
    client: ChannelClient | None = None,
) -> Resolution:
    """The one customer who owns any of these identities; new identities are attached to them.

    No owner: a new customer, brought by `client` (it reaches it from now on). Several owners:
    the best match is returned and the others are recorded as duplicate candidates. Two
    channels resolving the same new identity at once get one customer: the identity's unique
    constraint refuses the second insert, and the loser retries and finds the winner's row.

    Also a step of placing an order (`customer_resolve.step`), which resolves its customer in
    the order's transaction: each attempt runs in a savepoint, so a lost race can be retried.
    """
    parsed = identities_parse(identities)
    name = name.strip()
    for attempt in range(RESOLVE_ATTEMPTS):
        try:
            with transaction.atomic():
                return _resolve_once(identities=parsed, name=name, channel=channel, client=client)
        except (IntegrityError, OperationalError) as exc:
            # A unique identity taken meanwhile, or (belt and braces) a deadlock victim: retry.
            if attempt == RESOLVE_ATTEMPTS - 1 or (isinstance(exc, OperationalError) and not _is_deadlock(exc)):
                raise
    raise AssertionError("unreachable")


@use_case
def duplicate_candidates_dismiss(*, candidates: Iterable[DuplicateCandidate]) -> int:
    """Staff say two profiles are different people; the finder will not raise the pair again."""
    ids = [candidate.pk for candidate in candidates]
    return DuplicateCandidate.objects.filter(pk__in=ids, status=DuplicateStatus.OPEN).update(
        status=DuplicateStatus.DISMISSED
    )
