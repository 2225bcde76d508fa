"""Outbound deliveries become the outbox's messages: the same rows (same ids, so a receiver's
X-Delivery-Id of a replay still matches), renamed, with a kind (every existing row is a
webhook), a dedupe key, a language and a lease. "delivered" is now "sent"; the permissions
keep their groups under the new model's codenames."""

import django.db.models.deletion
from django.db import migrations, models

import config.models

PERMISSIONS = {
    "view_outbounddelivery": ("view_outboxmessage", "Can view outbox message"),
    "change_outbounddelivery": ("change_outboxmessage", "Can change outbox message"),
    "add_outbounddelivery": ("add_outboxmessage", "Can add outbox message"),
    "delete_outbounddelivery": ("delete_outboxmessage", "Can delete outbox message"),
}


def delivered_is_sent(apps, schema_editor):
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    OutboxMessage.objects.filter(status="delivered").update(status="sent")


def sent_is_delivered(apps, schema_editor):
    OutboxMessage = apps.get_model("config", "OutboxMessage")
    OutboxMessage.objects.exclude(kind="webhook").delete()
    OutboxMessage.objects.filter(status="sent").update(status="delivered")
    OutboxMessage.objects.filter(status="undeliverable").update(status="dead")


def rename_permissions(apps, schema_editor, *, forward=True):
    Permission = apps.get_model("auth", "Permission")
    for old, (new, name) in PERMISSIONS.items():
        source, target = (old, new) if forward else (new, old)
        if Permission.objects.filter(content_type__app_label="config", codename=target).exists():
            continue  # created already (post_migrate of an earlier run): leave both as they are
        Permission.objects.filter(content_type__app_label="config", codename=source).update(
            codename=target, name=name if forward else name.replace("outbox message", "outbound delivery")
        )


def permissions_forward(apps, schema_editor):
    rename_permissions(apps, schema_editor, forward=True)


def permissions_backward(apps, schema_editor):
    rename_permissions(apps, schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("config", "0003_channel_client_scopes_reach"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="outbounddelivery", name="outbound_delivery_status_valid"),
        migrations.RemoveConstraint(model_name="outbounddelivery", name="outbound_delivery_delivered_has_delivered_at"),
        migrations.RemoveConstraint(model_name="outbounddelivery", name="outbound_delivery_attempts_gte_0"),
        migrations.RemoveIndex(model_name="outbounddelivery", name="outbound_delivery_due_idx"),
        migrations.RenameModel(old_name="OutboundDelivery", new_name="OutboxMessage"),
        migrations.RenameField(model_name="outboxmessage", old_name="target_url", new_name="target"),
        migrations.RenameField(model_name="outboxmessage", old_name="delivered_at", new_name="sent_at"),
        migrations.AlterModelOptions(
            name="outboxmessage",
            options={
                "ordering": ("-created_at", "-pk"),
                "verbose_name": "outbox message",
                "verbose_name_plural": "outbox",
            },
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="kind",
            field=models.CharField(
                choices=config.models.outbox_kind_choices,
                default="webhook",
                max_length=30,
                verbose_name="kind",
            ),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="dedupe_key",
            field=models.CharField(blank=True, max_length=100, verbose_name="dedupe key"),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="language",
            field=models.CharField(blank=True, max_length=8, verbose_name="language"),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="leased_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="leased until"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="target",
            field=models.CharField(
                help_text="A URL, an e-mail address or the name of the system it goes to.",
                max_length=500,
                verbose_name="target",
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="sent at"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="event",
            field=models.CharField(blank=True, max_length=60, verbose_name="event"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="secret",
            field=models.CharField(blank=True, max_length=128, verbose_name="signing secret"),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sent", "Sent"),
                    ("dead", "Dead letter"),
                    ("undeliverable", "No way to reach the recipient"),
                ],
                default="pending",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="subscription",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="deliveries",
                to="config.webhooksubscription",
                verbose_name="subscription",
            ),
        ),
        migrations.RunPython(delivered_is_sent, sent_is_delivered),
        migrations.RunPython(permissions_forward, permissions_backward),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(fields=["status", "next_attempt_at"], name="outbox_message_due_idx"),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.CheckConstraint(condition=models.Q(("attempts__gte", 0)), name="outbox_message_attempts_gte_0"),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["pending", "sent", "dead", "undeliverable"])),
                name="outbox_message_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("sent_at__isnull", False), ("status", "sent")),
                    models.Q(models.Q(("status", "sent"), _negated=True), ("sent_at__isnull", True)),
                    _connector="OR",
                ),
                name="outbox_message_sent_has_sent_at",
            ),
        ),
        migrations.AddConstraint(
            model_name="outboxmessage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("dedupe_key", ""), _negated=True),
                fields=("kind", "dedupe_key"),
                name="outbox_message_once_per_key",
            ),
        ),
    ]
