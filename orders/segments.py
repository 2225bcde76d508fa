"""Purchase rules for customers' segments: orders fills customers' segment port from its AppConfig.ready().

What counts as a purchase: an order that is paid and not cancelled, dated by when it was paid.
So a paid order waiting to ship or on the pickup shelf counts, as do shipped, delivered and
picked-up ones; an order awaiting payment bought nothing yet, and a cancelled one (refunded,
credit note issued) bought nothing at all. Amounts are what the customer kept: the total less
what was refunded, in the shop's currency unless the rule names another.

Every rule is a filter over customers built from subqueries over orders, so a segment stays one
query whatever it holds (no per-customer query). A customer who never bought has bought 0 times
for 0: `{"frequency": {"max": 0}}` finds them; recency and dates never do.

    recency_days         N                     bought in the last N days
    last_purchase_after  "YYYY-MM-DD"          bought on or after that day
    last_purchase_before "YYYY-MM-DD"          bought before that day, and not since (lapsed)
    frequency            {"min": n, "max": n}  number of purchases (a bare number is a minimum)
    monetary             {"min": a, "max": a}  total spent (a bare amount is a minimum);
                                               "currency": "EUR" to count another currency
    category_bought      ["slug", ...]         bought a product of these categories (or below)
    channels_bought      ["store", ...]        bought through any of these channels
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.aggregates import Aggregate
from django.utils import timezone
from django.utils.translation import gettext as _

from config.channels import Channel
from customers.segments import category_check, category_subtree_variants, rule_str_list, segment_rule_register
from orders.models import Order, OrderLine, OrderStatus

Number = int | Decimal


def purchases() -> QuerySet[Order]:
    """The orders that count as purchases: paid, and not cancelled."""
    return Order.objects.filter(paid_at__isnull=False).exclude(status=OrderStatus.CANCELLED)


# Reading the values a rule is given


def _refused(rule: str, message: str) -> ValidationError:
    return ValidationError({rule: [message]})


def _days(rule: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _refused(rule, _("Give a number of days."))
    return value


def _day_start(rule: str, value: Any) -> datetime:
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _refused(rule, _("Give a date as YYYY-MM-DD.")) from None
    return timezone.make_aware(datetime.combine(day, time.min))


def _count(rule: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _refused(rule, _("Give a number of purchases of 0 or more."))
    return value


def _amount(rule: str, value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else Decimal("NaN")
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount < 0:
        raise _refused(rule, _("Give an amount of 0 or more."))
    return amount


def _bounds(rule: str, value: Any, parse: Any, extra_keys: frozenset[str] = frozenset()) -> tuple[Any, Any]:
    """{"min": x, "max": y} (either may be left out), or a bare value meaning the minimum."""
    if not isinstance(value, dict):
        return parse(rule, value), None
    if not value or not set(value) <= {"min", "max"} | extra_keys or not {"min", "max"} & set(value):
        raise _refused(rule, _('Give {"min": ..., "max": ...}, or one of them.'))
    low = parse(rule, value["min"]) if value.get("min") is not None else None
    high = parse(rule, value["max"]) if value.get("max") is not None else None
    if low is not None and high is not None and low > high:
        raise _refused(rule, _("The minimum is more than the maximum."))
    return low, high


def _str_list(rule: str, value: Any) -> list[str]:
    return rule_str_list(rule, value, refusal=_("Give a list of values."))


# The rules


def _per_customer_in_range(orders: QuerySet[Order], aggregate: Aggregate, low: Number | None, high: Number | None) -> Q:
    """Customers whose aggregate over `orders` is within the bounds; one who has none counts as 0."""
    per_customer = orders.order_by().values("customer_id").annotate(value=aggregate)
    if low is not None:
        per_customer = per_customer.filter(value__gte=low)
    if high is not None:
        per_customer = per_customer.filter(value__lte=high)
    q = Q(pk__in=per_customer.values("customer_id"))
    if not low:  # 0 is within the bounds: who has no such order is in too
        q |= ~Q(pk__in=orders.values("customer_id"))
    return q


def _bought_since(start: datetime) -> Q:
    return Q(Exists(purchases().filter(customer=OuterRef("pk"), paid_at__gte=start)))


def _recency(value: Any) -> Q:
    return _bought_since(timezone.now() - timedelta(days=_days("recency_days", value)))


def _last_purchase_after(value: Any) -> Q:
    return _bought_since(_day_start("last_purchase_after", value))


def _last_purchase_before(value: Any) -> Q:
    start = _day_start("last_purchase_before", value)
    return Q(Exists(purchases().filter(customer=OuterRef("pk")))) & ~_bought_since(start)


def _frequency(value: Any) -> Q:
    low, high = _bounds("frequency", value, _count)
    return _per_customer_in_range(purchases(), Count("pk"), low, high)


def _monetary(value: Any) -> Q:
    low, high = _bounds("monetary", value, _amount, extra_keys=frozenset({"currency"}))
    currency = value.get("currency", settings.DEFAULT_CURRENCY) if isinstance(value, dict) else None
    currency = currency or settings.DEFAULT_CURRENCY
    if not isinstance(currency, str) or len(currency) != 3:
        raise _refused("monetary", _("Give the currency as its three-letter code."))
    orders = purchases().filter(currency=currency.upper())
    return _per_customer_in_range(orders, Sum(F("total") - F("refunded_amount")), low, high)


def _category_bought(value: Any) -> Q:
    variants = category_subtree_variants(_str_list("category_bought", value)).values("pk")
    lines = OrderLine.objects.filter(
        order__customer=OuterRef("pk"), order__paid_at__isnull=False, variant__in=variants
    ).exclude(order__status=OrderStatus.CANCELLED)
    return Q(Exists(lines))


def _category_bought_check(value: Any) -> None:
    category_check(
        "category_bought",
        value,
        refusal=_("Unknown categories: %(slugs)s."),
        list_refusal=_("Give a list of values."),
    )


def _channels_bought(value: Any) -> Q:
    channels = _str_list("channels_bought", value)
    if unknown := set(channels) - set(Channel.values):
        raise _refused(
            "channels_bought", _("Unknown channels: %(channels)s.") % {"channels": ", ".join(sorted(unknown))}
        )
    return Q(Exists(purchases().filter(customer=OuterRef("pk"), channel__in=channels)))


def purchase_segment_rules_register() -> None:
    """Fill customers' segment port with the purchase rules (OrdersConfig.ready)."""
    segment_rule_register("recency_days", "Bought in the last N days", _recency)
    segment_rule_register("last_purchase_after", "Bought on or after a day", _last_purchase_after)
    segment_rule_register("last_purchase_before", "Bought before a day, and not since", _last_purchase_before)
    segment_rule_register("frequency", "Number of purchases, min and/or max", _frequency)
    segment_rule_register("monetary", "Total spent, min and/or max", _monetary)
    segment_rule_register(
        "category_bought", "Bought a product of these categories (or below)", _category_bought, _category_bought_check
    )
    segment_rule_register("channels_bought", "Bought through any of these channels", _channels_bought)
