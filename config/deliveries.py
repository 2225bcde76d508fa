"""Outbound deliveries: the one machinery for everything pushed to another system.

A domain app hands `delivery_enqueue` a target, a secret, an event name and a JSON body.
The row says what must happen; the Celery task `config.tasks.delivery_send` does it once
the transaction commits, and the sweeper `config.tasks.deliveries_sweep` re-enqueues
whatever is due (retries, and sends lost with a broker or a worker).

Every POST carries `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, keyed
with the secret, so a receiver can check who sent it and that nothing changed on the way.
"""

import hashlib
import hmac
import http.client
import json
import random
import secrets
import urllib.error
import urllib.request
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from config.exceptions import ApplicationError, ConflictError
from config.models import ChannelClient, DeliveryStatus, OutboundDelivery, WebhookSubscription
from config.selectors import delivery_ids_due
from config.tasks import delivery_send as delivery_send_task

SIGNATURE_HEADER = "X-Signature-256"
BACKOFF_MAX = timedelta(hours=6)
# Retries spread over up to this fraction of their delay, so receivers that come back are not stampeded.
BACKOFF_JITTER = 0.1
ERROR_MAX_CHARS = 2000


def _check_target_url(url: str, *, field: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApplicationError(
            f"Deliveries go to http or https URLs, not {url!r}.",
            code="invalid_target_url",
            fields={field: ["Enter an http:// or https:// URL."]},
        )


def delivery_signature(*, secret: str, body: bytes) -> str:
    """The `X-Signature-256` header's value: `sha256=` and the hex HMAC-SHA256 of the raw body.

    Receivers compute the same over the bytes they received and compare with
    `hmac.compare_digest`.
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_body_bytes(*, body: Any) -> bytes:
    """The exact bytes sent (and signed): compact JSON, Decimals and dates as DjangoJSONEncoder writes them."""
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def delivery_backoff(*, attempts: int) -> timedelta:
    """Delay before the next try after `attempts` failed ones: base * 2^(attempts-1), at most 6 hours."""
    base = float(settings.OUTBOUND_BACKOFF_BASE_SECONDS)
    exponent = min(max(attempts - 1, 0), 32)  # 2^32 * base is far past the cap already
    return min(timedelta(seconds=base * 2**exponent), BACKOFF_MAX)


@transaction.atomic
def webhook_subscription_create(*, client: ChannelClient, event: str, url: str) -> WebhookSubscription:
    """Subscribe a client to an event at a URL, with a new signing secret (read it from the row)."""
    _check_target_url(url, field="url")
    if not event:
        raise ApplicationError("Name the event to subscribe to.", code="invalid", fields={"event": ["Required."]})
    if WebhookSubscription.objects.filter(client=client, event=event, url=url).exists():
        raise ConflictError(
            f"{client.name} is already subscribed to {event} at {url}.",
            code="duplicate_subscription",
            fields={"url": ["Already subscribed."]},
        )
    return WebhookSubscription.objects.create(client=client, event=event, url=url, secret=secrets.token_hex(32))


@transaction.atomic
def delivery_enqueue(
    *,
    target_url: str,
    secret: str,
    event: str,
    body: Any,
    subscription: WebhookSubscription | None = None,
) -> OutboundDelivery:
    """Record a POST owed to `target_url`; it is sent by a worker once the caller's transaction commits.

    `body` is anything JSON-serialisable (Decimals, dates and UUIDs included). Call it inside
    the transaction that changed the data, so the delivery exists exactly when the change does.
    """
    _check_target_url(target_url, field="target_url")
    delivery = OutboundDelivery.objects.create(
        subscription=subscription,
        target_url=target_url,
        secret=secret,
        event=event,
        body=body,
        status=DeliveryStatus.PENDING,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(partial(delivery_send_task.delay, delivery.pk))
    return delivery


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed delivery: following it would turn the POST into a body-less GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(*, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST and return (HTTP status or None, error text; empty when the receiver answered 2xx)."""
    if urlsplit(url).scheme not in ("http", "https"):  # never file:// or other schemes
        return None, f"Refused: {url!r} is not an http or https URL."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (checked above)
    try:
        with _opener.open(request, timeout=float(settings.OUTBOUND_TIMEOUT_SECONDS)) as response:
            status: int = response.status
            if 200 <= status < 300:
                return status, ""
            return status, f"HTTP {status}: {_read_snippet(response)}"
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}: {_read_snippet(exc)}"
    except urllib.error.URLError as exc:
        return None, f"{type(exc.reason).__name__}: {exc.reason}"
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, garbled responses
        return None, f"{type(exc).__name__}: {exc}"


def _read_snippet(response: Any) -> str:
    try:
        return str(response.read(ERROR_MAX_CHARS).decode(errors="replace")).strip()
    except (OSError, http.client.HTTPException):
        return ""


def delivery_send(*, delivery_id: int) -> None:
    """Try one delivery now if it is pending and due; otherwise do nothing (tasks may run twice).

    The row is claimed with a lease (next attempt pushed past the send's timeout) in a short
    transaction, the POST runs with no transaction open, and the outcome is recorded in a
    second one. No database transaction waits on a slow receiver; a second worker handed the
    same id finds it not due; if this worker dies mid-send, the sweeper sends again when the
    lease runs out. 2xx → delivered. Anything else (a non-2xx answer, a refused connection,
    a timeout) counts an attempt and pushes the next one back, until the last → dead.
    """
    with transaction.atomic():
        now = timezone.now()
        delivery = (
            OutboundDelivery.objects.select_for_update(skip_locked=True)
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return
        lease = timedelta(seconds=settings.OUTBOUND_TIMEOUT_SECONDS * 3)
        delivery.next_attempt_at = now + lease
        delivery.save(update_fields=["next_attempt_at"])

    body = delivery_body_bytes(body=delivery.body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "retail-backoffice-webhooks/1",
        SIGNATURE_HEADER: delivery_signature(secret=delivery.secret, body=body),
        "X-Delivery-Id": str(delivery.pk),
        "X-Event": delivery.event,
    }
    status_code, error = _post(url=delivery.target_url, body=body, headers=headers)

    with transaction.atomic():
        delivery = OutboundDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != DeliveryStatus.PENDING:
            return  # settled meanwhile (e.g. by staff)
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code = status_code
        if not error:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = ""
        else:
            delivery.last_error = error[:ERROR_MAX_CHARS]
            if delivery.attempts >= settings.OUTBOUND_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.DEAD
            else:
                delay = delivery_backoff(attempts=delivery.attempts)
                jitter = delay * BACKOFF_JITTER * random.random()  # noqa: S311 (spreading load, not a secret)
                delivery.next_attempt_at = now + delay + jitter
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "next_attempt_at",
                "last_error",
                "last_status_code",
                "delivered_at",
            ]
        )


@transaction.atomic
def delivery_replay(*, delivery: OutboundDelivery) -> OutboundDelivery:
    """Send a dead letter (or a pending delivery) again now, with a fresh count of attempts.

    Same body, same secret, same delivery id: the receiver sees the same signed request.
    """
    locked = OutboundDelivery.objects.select_for_update().get(pk=delivery.pk)
    if locked.status == DeliveryStatus.DELIVERED:
        raise ConflictError(f"Delivery {locked.pk} was already delivered.", code="already_delivered")
    locked.status = DeliveryStatus.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(partial(delivery_send_task.delay, locked.pk))
    return locked


def deliveries_sweep(*, limit: int = 500) -> int:
    """Enqueue every pending delivery that is due (oldest first, at most `limit`); how many."""
    ids = delivery_ids_due(limit=limit)
    for delivery_id in ids:
        delivery_send_task.delay(delivery_id)
    return len(ids)
