"""The customer timeline: one service records an event, one ingests a channel's batch."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from config.models import ChannelClient
from config.transactions import use_case
from customers.models import BroughtCustomer, ContactPoint, Customer, CustomerEvent, EventKind
from customers.services.resolve import Identity, identities_q, identity_parse


@transaction.atomic
def customer_event_record(
    *,
    customer: Customer,
    channel: str,
    kind: EventKind,
    occurred_at: datetime | None = None,
    sku: str = "",
    location_code: str = "",
    query: str = "",
    payload: Mapping[str, Any] | None = None,
    client: ChannelClient | None = None,
    client_event_id: str = "",
) -> CustomerEvent:
    """Append one event to a customer's timeline (every app records its kinds through here)."""
    return CustomerEvent.objects.create(
        customer=customer,
        channel=channel,
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        sku=sku,
        location_code=location_code,
        query=query,
        payload=dict(payload or {}),
        client=client,
        client_event_id=client_event_id,
    )


@dataclass
class EventResult:
    index: int
    status: str  # created | duplicate | error
    customer_id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


@use_case
def customer_events_ingest(*, client: ChannelClient, events: Sequence[Mapping[str, Any]]) -> list[EventResult]:
    """Record a channel's batch of events in a constant number of queries.

    Each event carries one identity; a new identity creates its customer. Events are
    idempotent per (client, client_event_id). A bad event is reported and skipped; the
    good ones are kept.
    """
    results = [EventResult(index=i, status="created") for i in range(len(events))]
    identities: dict[int, Identity] = {}
    for i, event in enumerate(events):
        try:
            identities[i] = identity_parse(kind=event["identity"]["kind"], value=event["identity"]["value"])
        except ValidationError as exc:
            results[i].status, results[i].errors = "error", {"identity": exc.messages}

    # Idempotency: ids this client already sent, and repeats within the batch.
    ids = [str(event.get("client_event_id") or "") for event in events]
    seen: dict[str, int] = dict(
        CustomerEvent.objects.filter(client=client, client_event_id__in=[i for i in ids if i]).values_list(
            "client_event_id", "customer_id"
        )
    )
    first_in_batch: dict[str, int] = {}
    repeats: dict[int, int] = {}  # index of a repeat -> index of the occurrence that is recorded
    for i, event_id in enumerate(ids):
        if results[i].status == "error" or not event_id:
            continue
        if event_id in seen:
            results[i].status, results[i].customer_id = "duplicate", seen[event_id]
        elif event_id in first_in_batch:
            results[i].status = "duplicate"
            repeats[i] = first_in_batch[event_id]
        else:
            first_in_batch[event_id] = i

    wanted = {identities[i].key: identities[i] for i, r in enumerate(results) if r.status == "created"}
    owner_of = _customers_for_identities(wanted, events, identities, client)

    rows = []
    for i, result in enumerate(results):
        if result.status != "created":
            continue
        event = events[i]
        result.customer_id = owner_of[identities[i].key]
        rows.append(
            CustomerEvent(
                customer_id=result.customer_id,
                channel=client.channel,
                kind=event["kind"],
                occurred_at=event["occurred_at"],
                sku=event.get("sku") or "",
                location_code=event.get("location_code") or "",
                query=event.get("query") or "",
                payload=dict(event.get("payload") or {}),
                client=client,
                client_event_id=ids[i],
            )
        )
    for repeat, first in repeats.items():
        results[repeat].customer_id = results[first].customer_id
    # A concurrent copy of the same batch may have inserted some ids first: theirs stand.
    CustomerEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return results


def _customers_for_identities(
    wanted: dict[tuple[str, str], Identity],
    events: Sequence[Mapping[str, Any]],
    identities: dict[int, Identity],
    client: ChannelClient,
) -> dict[tuple[str, str], int]:
    """Customer id per identity, creating customers for new identities (brought by the client), in bulk."""
    channel = client.channel
    if not wanted:
        return {}
    owner_of = {
        (kind, value): customer_id
        for kind, value, customer_id in ContactPoint.objects.filter(identities_q(wanted.values())).values_list(
            "kind", "normalised_value", "customer_id"
        )
    }
    # Sorted: concurrent batches insert identities in one order and cannot deadlock.
    new = sorted((identity for key, identity in wanted.items() if key not in owner_of), key=lambda i: i.key)
    if not new:
        return owner_of
    names = {identities[i].key: str(events[i].get("name") or "").strip() for i in identities}
    customers = Customer.objects.bulk_create(
        [Customer(name=names.get(identity.key, ""), first_seen_channel=channel) for identity in new]
    )
    ContactPoint.objects.bulk_create(
        [
            identity.contact_point(customer=customer, channel=channel)
            for customer, identity in zip(customers, new, strict=True)
        ],
        ignore_conflicts=True,
    )
    # Another channel may have claimed some identities meanwhile: read the winners back
    # and drop the profiles that lost.
    for kind, value, customer_id in ContactPoint.objects.filter(identities_q(new)).values_list(
        "kind", "normalised_value", "customer_id"
    ):
        owner_of[(kind, value)] = customer_id
    winners = set(owner_of.values())
    losers = [customer.pk for customer in customers if customer.pk not in winners]
    if losers:
        Customer.objects.filter(pk__in=losers).delete()
    BroughtCustomer.objects.bulk_create(
        [BroughtCustomer(client=client, customer=customer) for customer in customers if customer.pk in winners],
        ignore_conflicts=True,
    )
    return owner_of
