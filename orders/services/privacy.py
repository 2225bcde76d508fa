"""An erased customer's orders keep their numbers, lines and totals, not their contact details.

The invoices keep their buyer snapshot: they are fiscal records the law requires as issued.
"""

from customers.models import Customer
from orders.models import Order

# Shipped orders must keep a non-empty street (a database check): the mark says why it is gone.
ERASED = "[erased]"


def orders_personal_data_erase(customer: Customer) -> int:
    """Scrub e-mail, phone, names and addresses from every order of the customer."""
    orders = Order.objects.filter(customer=customer)
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
