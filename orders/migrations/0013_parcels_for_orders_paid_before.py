"""Parcels for the ship orders paid before parcels existed: one per source, as the order stands.

A paid order gets pending parcels (its units wait to leave); a shipped or delivered one gets its
parcels shipped (or delivered) with the order's carrier, tracking number and times, so that "the
order is shipped when every parcel is" holds for every order, old ones too.
"""

from collections import defaultdict

from django.db import migrations


def plan(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Parcel = apps.get_model("orders", "Parcel")
    ParcelLine = apps.get_model("orders", "ParcelLine")
    orders = Order.objects.filter(fulfilment_type="ship", status__in=("paid", "shipped", "delivered"), parcels__isnull=True)
    for order in orders.iterator():
        by_source = defaultdict(list)
        for line in order.lines.order_by("position"):
            by_source[line.source_id].append(line)
        status = order.status if order.status != "paid" else "pending"
        for position, (source_id, lines) in enumerate(by_source.items(), start=1):
            parcel = Parcel.objects.create(
                order=order,
                position=position,
                source_id=source_id,
                status=status,
                carrier=order.carrier if status != "pending" else "",
                tracking_number=order.tracking_number if status != "pending" else "",
                shipped_at=order.shipped_at if status != "pending" else None,
                delivered_at=order.delivered_at if status == "delivered" else None,
            )
            ParcelLine.objects.bulk_create(
                [ParcelLine(parcel=parcel, order_line=line, quantity=line.quantity) for line in lines]
            )


class Migration(migrations.Migration):
    dependencies = [("orders", "0012_parcels")]

    operations = [migrations.RunPython(plan, migrations.RunPython.noop)]
