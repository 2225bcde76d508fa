from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from config.channels import Channel
from config.transactions import use_case
from customers.exceptions import CustomerErased
from customers.models import Consent, ConsentPurpose, Customer


@use_case
def consent_record(
    *,
    customer: Customer,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    recorded_by_channel: str = "",
    recorded_at: datetime | None = None,
) -> Consent:
    """Record a consent given or withdrawn; earlier rows stay as history."""
    errors: dict[str, list[str]] = {}
    if channel not in Channel.values:
        errors["channel"] = [f"Choose one of {', '.join(Channel.values)}."]
    if purpose not in ConsentPurpose.values:
        errors["purpose"] = [f"Choose one of {', '.join(ConsentPurpose.values)}."]
    if not source.strip():
        errors["source"] = [gettext("Say where the consent was given.")]
    if errors:
        raise ValidationError(errors)
    if customer.erased_at:
        raise CustomerErased(gettext("The customer was erased."))
    return Consent.objects.create(
        customer=customer,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source.strip(),
        recorded_by_channel=recorded_by_channel,
        recorded_at=recorded_at or timezone.now(),
    )
