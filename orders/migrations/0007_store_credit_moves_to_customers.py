"""Store credit moves to customers: the ledger's rows are carried over, each customer's balance in
each currency becomes an account row (the ledger's sum), then orders' own ledger table goes.

Plain SQL that PostgreSQL and SQLite both run: the rows keep their amounts, references, reasons,
channels and times (a model's `auto_now_add` would stamp them with today), in their order.
"""

from django.db import migrations

CARRY_OVER = [
    # One account per customer and currency, its balance the ledger's sum (rounded to the cent:
    # SQLite adds decimals as floating point numbers).
    """
    INSERT INTO customers_storecreditaccount (customer_id, currency, balance, created_at, updated_at)
    SELECT customer_id, currency, ROUND(SUM(amount), 2), MIN(created_at), MAX(created_at)
    FROM orders_storecreditentry
    GROUP BY customer_id, currency
    """,
    """
    INSERT INTO customers_storecreditentry (account_id, amount, reference, reason, channel, created_at)
    SELECT account.id, entry.amount, entry.reference, entry.reason, entry.channel, entry.created_at
    FROM orders_storecreditentry entry
    JOIN customers_storecreditaccount account
      ON account.customer_id = entry.customer_id AND account.currency = entry.currency
    ORDER BY entry.id
    """,
]

CARRY_BACK = [
    """
    INSERT INTO orders_storecreditentry (customer_id, amount, currency, reference, reason, channel, created_at)
    SELECT account.customer_id, entry.amount, account.currency, entry.reference, entry.reason, entry.channel,
           entry.created_at
    FROM customers_storecreditentry entry
    JOIN customers_storecreditaccount account ON account.id = entry.account_id
    ORDER BY entry.id
    """,
    "DELETE FROM customers_storecreditentry",
    "DELETE FROM customers_storecreditaccount",
]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_notification_sending_fields_leave"),
        ("customers", "0004_store_credit_accounts"),
    ]

    operations = [
        migrations.RunSQL(CARRY_OVER, reverse_sql=CARRY_BACK),
        migrations.RemoveIndex(
            model_name="storecreditentry",
            name="store_credit_customer_idx",
        ),
        migrations.RemoveConstraint(
            model_name="storecreditentry",
            name="store_credit_amount_not_zero",
        ),
        migrations.DeleteModel(
            name="StoreCreditEntry",
        ),
    ]
