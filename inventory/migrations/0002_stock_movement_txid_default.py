"""On PostgreSQL every movement records the id of the transaction that wrote it.

The change feed returns movements only below the oldest transaction still running
(pg_snapshot_xmin), ordered by (txid, id): a movement that commits late can never be
skipped by a poller. SQLite runs one writer at a time, so id order is commit order there.
"""

from django.db import migrations

SET_DEFAULT = (
    "ALTER TABLE inventory_stockmovement ALTER COLUMN txid SET DEFAULT (pg_current_xact_id()::text::bigint)"
)
DROP_DEFAULT = "ALTER TABLE inventory_stockmovement ALTER COLUMN txid SET DEFAULT 0"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(SET_DEFAULT)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
