"""The notification's sending fields leave it for its outbox message (migration 0005 carried
them over); its message is now required. A migration of its own: PostgreSQL alters no table
with the row changes of the same transaction still to check."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_notifications_on_the_outbox")]

    operations = [
        migrations.AlterField(
            model_name="ordernotification",
            name="message",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="config.outboxmessage",
                verbose_name="outbox message",
            ),
        ),
        migrations.RemoveIndex(model_name="ordernotification", name="order_notification_due_idx"),
        migrations.RemoveField(model_name="ordernotification", name="attempts"),
        migrations.RemoveField(model_name="ordernotification", name="lease_until"),
        migrations.RemoveField(model_name="ordernotification", name="last_error"),
    ]
