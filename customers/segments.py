"""Segment rules: each turns a value into a filter over customers; a segment is one query.

Rules on purchases (recency, dates, frequency, money spent, categories and channels bought in)
belong to the orders app, which fills this port with `segment_rule_register` from its
AppConfig.ready() (orders/segments.py says what counts as a purchase). Without it, a segment
using them is refused with a clear error; a test fails if orders forgets one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Length, Substr
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Category, Variant
from config.channels import Channel
from customers.models import ConsentPurpose, Customer, CustomerEvent, EventKind
from customers.selectors import customer_list_reachable

RuleFilter = Callable[[Any], Q]


@dataclass(frozen=True)
class SegmentRule:
    name: str
    description: str
    filter: RuleFilter
    # Checks that need the database (does the category exist?), run when a segment is saved.
    check: Callable[[Any], None] | None = None


SEGMENT_RULES: dict[str, SegmentRule] = {}
# Rules that another app provides once it is installed (orders).
PURCHASE_RULES = (
    "recency_days",
    "last_purchase_after",
    "last_purchase_before",
    "frequency",
    "monetary",
    "category_bought",
    "channels_bought",
)


def segment_rule_register(
    name: str, description: str, rule_filter: RuleFilter, check: Callable[[Any], None] | None = None
) -> None:
    SEGMENT_RULES[name] = SegmentRule(name, description, rule_filter, check)


# Helpers for rules written here and for the rules other apps register (orders' purchase rules).
# A refusal's words are translated when it is made (in the request's language); a caller may
# pass its own; the check is written once, here.


def rule_str_list(rule: str, value: Any, *, refusal: str | None = None) -> list[str]:
    """A rule's value as a non-empty list of non-empty strings (a bare string is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValidationError({rule: [refusal or gettext("Give a list of values.")]})
    return value


def category_subtree_variants(slugs: list[str]) -> QuerySet[Variant]:
    """The variants of products in these categories or below them, as a subquery (no query of its own)."""
    # A variant is in a chosen category when that category's path prefixes its own: a subquery,
    # so a segment using it stays one query.
    chosen = Category.objects.filter(
        slug__in=slugs, path=Substr(OuterRef("product__category__path"), 1, Length("path"))
    )
    return Variant.objects.filter(Exists(chosen))


def category_check(
    rule: str,
    value: Any,
    *,
    refusal: str | None = None,
    list_refusal: str | None = None,
) -> None:
    """Refuse a rule naming a category that does not exist (run when a segment is saved).

    `refusal` is formatted with the unknown slugs as `%(slugs)s`; `list_refusal` is
    `rule_str_list`'s.
    """
    slugs = set(rule_str_list(rule, value, refusal=list_refusal))
    if unknown := slugs - set(Category.objects.filter(slug__in=slugs).values_list("slug", flat=True)):
        words = refusal or gettext("Unknown categories: %(slugs)s.")
        raise ValidationError({rule: [words % {"slugs": ", ".join(sorted(unknown))}]})


def _channels(value: Any) -> Q:
    channels = rule_str_list("channels_used", value)
    if unknown := set(channels) - set(Channel.values):
        raise ValidationError(
            {"channels_used": [gettext("Unknown channels: %(channels)s.") % {"channels": ", ".join(sorted(unknown))}]}
        )
    return Q(first_seen_channel__in=channels) | Q(
        Exists(CustomerEvent.objects.filter(customer=OuterRef("pk"), channel__in=channels))
    )


def _age_band(value: Any) -> Q:
    if not isinstance(value, dict) or not set(value) <= {"min", "max"} or not value:
        raise ValidationError({"age_band": [gettext('Give {"min": years, "max": years}.')]})
    today = timezone.localdate()
    q = Q(birth_date__isnull=False)
    if (minimum := value.get("min")) is not None:
        q &= Q(birth_date__lte=_years_ago(today, int(minimum)))
    if (maximum := value.get("max")) is not None:
        q &= Q(birth_date__gt=_years_ago(today, int(maximum) + 1))
    return q


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def _has_consent(value: Any) -> Q:
    if not isinstance(value, dict) or value.get("purpose") not in ConsentPurpose.values:
        raise ValidationError({"has_consent": [gettext('Give {"channel": ..., "purpose": "marketing"}.')]})
    if value.get("channel") not in Channel.values:
        raise ValidationError({"has_consent": [gettext("Unknown channel.")]})
    # The same rule marketing code uses to pick who a message may reach.
    reachable = customer_list_reachable(channel=value["channel"], purpose=value["purpose"])
    return Q(pk__in=reachable.values("pk"))


def _viewed_category(value: Any) -> Q:
    skus = category_subtree_variants(rule_str_list("viewed_category", value)).values("sku")
    return Q(Exists(CustomerEvent.objects.filter(customer=OuterRef("pk"), kind=EventKind.PRODUCT_VIEWED, sku__in=skus)))


def _viewed_category_check(value: Any) -> None:
    category_check("viewed_category", value)


def _city(value: Any) -> Q:
    q = Q(pk__in=[])
    for city in rule_str_list("city", value):
        q |= Q(city__iexact=city)
    return q


def _active_within(value: Any) -> Q:
    days = int(value)
    since = timezone.now() - timedelta(days=days)
    return Q(Exists(CustomerEvent.objects.filter(customer=OuterRef("pk"), occurred_at__gte=since)))


def _inactive_for(value: Any) -> Q:
    return ~_active_within(value)


segment_rule_register(
    "country", "ISO country codes", lambda v: Q(country__in=[c.upper() for c in rule_str_list("country", v)])
)
segment_rule_register("city", "City names", _city)
segment_rule_register("age_band", "Age in years, min and/or max", _age_band)
segment_rule_register("channels_used", "Channels the customer was seen on", _channels)
segment_rule_register("has_consent", "Consent in force for a channel and purpose", _has_consent)
segment_rule_register(
    "viewed_category", "Viewed a product of these categories (or below)", _viewed_category, _viewed_category_check
)
segment_rule_register("active_within_days", "Any activity in the last N days", _active_within)
segment_rule_register("inactive_for_days", "No activity in the last N days", _inactive_for)


def segment_rules_q(rules: dict[str, Any]) -> Q:
    """All rules combined (AND). Raises ValidationError naming the bad rule."""
    if not isinstance(rules, dict):
        raise ValidationError({"rules": [gettext("Rules are an object of rule name to value.")]})
    q = Q()
    for name, value in rules.items():
        rule = SEGMENT_RULES.get(name)
        if rule is None:
            if name in PURCHASE_RULES:
                raise ValidationError({name: [gettext("This rule needs the orders app.")]}, code="rule_unavailable")
            raise ValidationError(
                {name: [gettext("Unknown rule. Known: %(rules)s.") % {"rules": ", ".join(sorted(SEGMENT_RULES))}]}
            )
        try:
            q &= rule.filter(value)
        except (TypeError, ValueError) as exc:
            raise ValidationError({name: [str(exc)]}) from exc
    return q


def segment_rules_validate(rules: dict[str, Any]) -> None:
    """Everything segment_rules_q checks, plus the rules' database checks: for saving a segment."""
    segment_rules_q(rules)
    for name, value in rules.items():
        check = SEGMENT_RULES[name].check
        if check is not None:
            check(value)


def segment_members(*, rules: dict[str, Any]) -> QuerySet[Customer]:
    """The customers matching a segment's rules: one query, erased customers never included."""
    return Customer.objects.filter(erased_at=None).filter(segment_rules_q(rules)).order_by("pk")
