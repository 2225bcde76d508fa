from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.transactions import use_case
from inventory.models import LowStockAlert


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
    """E-mail store staff about their locations' new alerts and managers about all; each alert once."""
    alerts = list(
        LowStockAlert.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(notified_at__isnull=True, resolved_at__isnull=True)
        .select_related("stock_level__location", "stock_level__variant")
    )
    if not alerts:
        return 0
    lines_by_location: dict[int, list[str]] = defaultdict(list)
    for alert in alerts:
        level = alert.stock_level
        lines_by_location[level.location_id].append(
            f"{level.location.code}  {level.variant.sku}: {alert.available} < {alert.threshold}"
        )
    for email, locations in sorted(_recipients(set(lines_by_location)).items()):
        lines = [
            line
            for location_id, location_lines in lines_by_location.items()
            if locations is None or location_id in locations
            for line in location_lines
        ]
        if lines:
            send_mail(
                subject=_("Low stock: %(count)d items") % {"count": len(lines)},
                message="\n".join(lines),
                from_email=None,
                recipient_list=[email],
            )
    LowStockAlert.objects.filter(pk__in=[alert.pk for alert in alerts]).update(notified_at=timezone.now())
    return len(alerts)
