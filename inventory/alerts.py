"""Telling staff about low-stock alerts: one e-mail per person, handed to the outbox.

`low_stock_alerts_notify` (a use case, run by its task after an alert opens and every five
minutes) takes the open alerts nobody was told about yet, writes one outbox message (kind
`low_stock_alert.email`) per person with the lines that person gets, and marks the alerts
notified, all in one transaction: an alert is handed over once, and its e-mails exist
exactly when its mark does. Store staff get their own locations' lines, managers every line.

Sending is the outbox's (`config.outbox`): after commit, claimed with a lease, retried with
backoff when the mail server refuses or cannot be reached, a dead letter after
`OUTBOUND_MAX_ATTEMPTS`, replayable from the outbox's admin screen. The handler, registered by
`InventoryConfig.ready()`, writes the subject at send time in the message's language.
"""

import hashlib
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.models import OutboxKind, OutboxMessage
from config.outbox import Email, EmailHandler, outbox_enqueue
from config.transactions import use_case
from inventory.models import LowStockAlert

LOW_STOCK_ALERT_EMAIL = OutboxKind.LOW_STOCK_ALERT_EMAIL


def low_stock_email_key(*, lowest_alert_id: int, email: str) -> str:
    """The dedupe key of one person's e-mail: the lowest id of its alerts, and the address.

    An alert is handed over once, so no two e-mails to one person share an alert. The address
    goes in as a digest: it may be longer than a key.
    """
    return f"{lowest_alert_id}:{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def _recipients(location_ids: set[int]) -> dict[str, set[int] | None]:
    """E-mail → the locations whose alerts that person gets (None: every location, a manager)."""
    staff = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    managers = set(
        staff.filter(
            Q(is_superuser=True)
            | Q(user_permissions__codename="manage_all_locations")
            | Q(groups__permissions__codename="manage_all_locations")
        ).values_list("email", flat=True)
    )
    own: dict[str, set[int]] = defaultdict(set)
    for email, location_id in staff.filter(inventory_locations__in=location_ids).values_list(
        "email", "inventory_locations"
    ):
        if email not in managers:
            own[email].add(location_id)
    return {**dict.fromkeys(managers), **own}


@use_case
def low_stock_alerts_notify() -> int:
    """Owe store staff an e-mail about their locations' new alerts and managers one about all; each alert once.

    How many alerts were handed over. The e-mails are outbox messages, sent after commit.
    """
    alerts = list(
        LowStockAlert.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(notified_at__isnull=True, resolved_at__isnull=True)
        .select_related("stock_level__location", "stock_level__variant")
    )
    if not alerts:
        return 0
    lines_by_location: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for alert in alerts:
        level = alert.stock_level
        lines_by_location[level.location_id].append(
            (alert.pk, f"{level.location.code}  {level.variant.sku}: {alert.available} < {alert.threshold}")
        )
    for email, locations in sorted(_recipients(set(lines_by_location)).items()):
        lines = [
            line
            for location_id, location_lines in lines_by_location.items()
            if locations is None or location_id in locations
            for line in location_lines
        ]
        if lines:
            outbox_enqueue(
                kind=LOW_STOCK_ALERT_EMAIL,
                target=email,
                body={"alerts": [alert_id for alert_id, _text in lines], "lines": [text for _id, text in lines]},
                dedupe_key=low_stock_email_key(lowest_alert_id=min(alert_id for alert_id, _text in lines), email=email),
                # Staff have no language of their own: the site's, the one these e-mails were always in.
                language=settings.LANGUAGE_CODE,
            )
    LowStockAlert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(notified_at=timezone.now())
    return len(alerts)


def low_stock_alert_email(*, lines: list[str], to: str) -> Email:
    """The e-mail to one person: a line per alert (location, SKU: available then < threshold)."""
    return Email(subject=_("Low stock: %(count)d items") % {"count": len(lines)}, text="\n".join(lines), to=[to])


class LowStockAlertEmailHandler(EmailHandler):
    """The outbox's `low_stock_alert.email`: the lines written when the alerts were handed over, sent as they were."""

    kind = LOW_STOCK_ALERT_EMAIL

    def email(self, message: OutboxMessage) -> Email:
        return low_stock_alert_email(lines=list(message.body["lines"]), to=message.target)
