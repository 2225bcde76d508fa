"""An erased customer's orders keep their numbers, lines and totals, not their contact details.

The invoices keep their buyer snapshot: they are fiscal records the law requires as issued.
"""

from config.outbox.privacy import mail_files_forget
from customers.models import Customer
from orders.models import Order

# Shipped orders must keep a non-empty street (a database check): the mark says why it is gone.
ERASED = "[erased]"


def orders_personal_data_erase(customer: Customer) -> int:
    """Scrub e-mail, phone, names and addresses from every order of the customer (and the mail files sent to it)."""
    orders = Order.objects.filter(customer=customer)
    mail_files_forget(orders.exclude(email="").values_list("email", flat=True))  # its notifications' files
    scrubbed = orders.update(
        email="",
        phone="",
        customer_name="",
        shipping_name="",
        shipping_city="",
        shipping_postal_code="",
        billing_name="",
        billing_street="",
        billing_city="",
        billing_postal_code="",
    )
    orders.exclude(shipping_street="").update(shipping_street=ERASED)
    return scrubbed
