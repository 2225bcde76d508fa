from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.db.models.functions import Lower
from django.utils.translation import gettext

from config.channels import Channel
from config.transactions import use_case
from customers.exceptions import CustomerErased
from customers.models import Customer, DuplicateReason
from customers.services.resolve import duplicate_candidates_record
from customers.tax_ids import tax_id_normalise

UPDATABLE = (*Customer.PROFILE_FIELDS, "notes")


@use_case
def customer_update(*, customer: Customer, **fields: Any) -> Customer:
    """Change a customer's profile and preferences. Tax ids are validated and stored compact.

    Staff notes are among the fields; the channel API does not offer them.
    """
    fields = customer_update_validate(customer=customer, **fields)
    changed = [name for name, value in fields.items() if getattr(customer, name) != value]
    for name in changed:
        setattr(customer, name, fields[name])
    if changed:
        customer.full_clean(exclude=["first_seen_channel"])
        customer.save(update_fields=[*changed, "updated_at"])
    return customer


def customer_update_validate(*, customer: Customer, **fields: Any) -> dict[str, Any]:
    """The fields, cleaned (tax id compacted, country upper-cased); raises ValidationError per field."""
    unknown = set(fields) - set(UPDATABLE)
    if unknown:
        raise ValidationError({name: [gettext("Not a field that can be changed here.")] for name in unknown})
    if customer.erased_at:
        raise CustomerErased(gettext("The customer was erased."))
    if "country" in fields:
        fields["country"] = (fields["country"] or "").upper()
    if fields.get("tax_id"):
        try:
            fields["tax_id"] = tax_id_normalise(fields["tax_id"], fields.get("country") or customer.country)
        except ValidationError as exc:
            raise ValidationError({"tax_id": exc.messages}) from exc
    if fields.get("preferred_contact_channel") and fields["preferred_contact_channel"] not in Channel.values:
        raise ValidationError({"preferred_contact_channel": [gettext("Unknown channel.")]})
    birth_date = fields.get("birth_date")
    if isinstance(birth_date, date) and birth_date > date.today():  # noqa: DTZ011 (a calendar date)
        raise ValidationError({"birth_date": [gettext("A birth date is in the past.")]})
    return fields


@use_case
def customer_duplicates_find() -> int:
    """Record pairs that share a tax id, or a name and birth date. Run by the beat sweeper."""
    found = 0
    groups = (
        (
            DuplicateReason.SHARED_TAX_ID,
            Customer.objects.filter(erased_at=None).exclude(tax_id="").values("tax_id"),
            lambda row: {"tax_id": row["tax_id"]},
        ),
        (
            DuplicateReason.SAME_NAME_AND_BIRTH_DATE,
            Customer.objects.filter(erased_at=None, birth_date__isnull=False)
            .exclude(name="")
            .annotate(lower_name=Lower("name"))
            .values("lower_name", "birth_date"),
            lambda row: {"name__iexact": row["lower_name"], "birth_date": row["birth_date"]},
        ),
    )
    for reason, grouped, lookup in groups:
        for row in grouped.annotate(n=Count("id")).filter(n__gt=1).order_by():
            members = list(Customer.objects.filter(erased_at=None, **lookup(row)).order_by("pk"))
            for customer in members:
                duplicate_candidates_record(customer=customer, others=members, reason=reason)
            found += len(members) - 1
    return found
