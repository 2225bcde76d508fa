"""The stock change feed: a cursor over movements that never skips nor repeats one.

Movement ids are handed out before commit, so "id > cursor" alone could skip a movement
that committed after a later one. On PostgreSQL each movement records its transaction id
and the feed only shows movements of transactions older than every transaction still
running (pg_snapshot_xmin), ordered by (txid, id). SQLite has one writer at a time.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext

from config.models import WebhookSubscription
from config.outbox import webhook_enqueue
from config.selectors import webhook_subscriptions_active
from inventory.models import StockMovement

STOCK_CHANGED = "stock.changed"
FEED_PAGE = 500


@dataclass(frozen=True, order=True)
class FeedCursor:
    txid: int
    movement_id: int

    def __str__(self) -> str:
        return f"{self.txid}-{self.movement_id}"

    @classmethod
    def parse(cls, text: str) -> "FeedCursor":
        try:
            txid, movement_id = (int(part) for part in text.split("-"))
        except ValueError:
            raise ValidationError({"after": [gettext("A cursor as returned by this feed, e.g. 0-0.")]}) from None
        if txid < 0 or movement_id < 0:
            raise ValidationError({"after": [gettext("A cursor as returned by this feed, e.g. 0-0.")]})
        return cls(txid, movement_id)


START = FeedCursor(0, 0)


def _settled() -> Q:
    if connection.vendor == "postgresql":
        return Q(txid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", ()))
    return Q()


def stock_changes_after(
    *, after: FeedCursor = START, limit: int = FEED_PAGE, references_at: Collection[int] = frozenset()
) -> tuple[list[dict[str, Any]], FeedCursor]:
    """Movements after the cursor, oldest first, and the cursor to ask with next time.

    A movement's reference names an order, a transfer or a delivery note. Every channel reads
    this feed, so a reference is shown only for the locations in `references_at` (staff: the
    ones they work at, as in the admin's movement history); elsewhere it is "".
    """
    movements = list(
        StockMovement.objects.filter(_settled())
        .filter(Q(txid__gt=after.txid) | Q(txid=after.txid, id__gt=after.movement_id))
        .select_related("location", "variant", "stock_level")
        .order_by("txid", "id")[:limit]
    )
    changes = [
        {
            "cursor": str(FeedCursor(m.txid, m.pk)),
            "sku": m.variant.sku,
            "location": m.location.code,
            "kind": m.kind,
            "on_hand_change": m.on_hand_delta,
            "reserved_change": m.reserved_delta,
            "reference": m.reference if m.location_id in references_at else "",
            "at": m.created_at.isoformat(),
            # The level as it is now: channels that keep a copy can simply overwrite theirs.
            "on_hand": m.stock_level.on_hand,
            "reserved": m.stock_level.reserved,
            "available": m.stock_level.available,
        }
        for m in movements
    ]
    next_cursor = FeedCursor(movements[-1].txid, movements[-1].pk) if movements else after
    return changes, next_cursor


def stock_changes_head() -> FeedCursor:
    """Where a new subscriber starts: after every movement written so far, settled or not
    (what happened before it subscribed is not its business)."""
    last = StockMovement.objects.order_by("-txid", "-id").values_list("txid", "id").first()
    return FeedCursor(*last) if last else START


def stock_changes_dispatch() -> int:
    """For each subscription to stock changes, send what is new as one signed delivery.

    Each subscription is locked while it advances (skip_locked: two workers never send the
    same changes), and the delivery row and the new cursor commit together.
    """
    sent = 0
    ids = webhook_subscriptions_active(event=STOCK_CHANGED).values_list("pk", flat=True)
    for subscription_id in ids:
        with transaction.atomic(durable=True):  # a use case per subscription: its delivery and cursor commit together
            subscription = (
                WebhookSubscription.objects.select_for_update(skip_locked=True).filter(pk=subscription_id).first()
            )
            if subscription is None:
                continue
            if not subscription.cursor:
                subscription.cursor = str(stock_changes_head())
                subscription.save(update_fields=["cursor"])
                continue
            # Subscribers are channel clients: no references (another channel's order numbers).
            changes, cursor = stock_changes_after(after=FeedCursor.parse(subscription.cursor))
            if not changes:
                continue
            webhook_enqueue(
                target_url=subscription.url,
                secret=subscription.secret,
                event=STOCK_CHANGED,
                body={"event": STOCK_CHANGED, "changes": changes, "cursor": str(cursor)},
                subscription=subscription,
            )
            subscription.cursor = str(cursor)
            subscription.save(update_fields=["cursor"])
            sent += 1
    return sent
