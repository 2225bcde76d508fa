"""What a channel credential may do (its scopes) and whose data it may see (its reach).

Modelled on the access scopes the big commerce platforms grant per app: each operation of
the API names the one scope it needs, and a credential without it gets a 403
`missing_scope` naming it. Each channel kind starts with a default set; staff change them
per client in the admin (or `create_channel_client --scopes`).

Reach is separate from scopes: a first-party channel (the retailer's own web shop, app,
tills, call centre) may be given reach over every customer; everyone else reaches only the
customers and orders it brought itself. Another client's object answers 404, like a missing one.
"""

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _

from config.channels import FIRST_PARTY_CHANNELS, Channel


class Scope(models.TextChoices):
    CATALOG_READ = "catalog:read", _("Read products, categories and prices")
    INVENTORY_READ = "inventory:read", _("Read locations, availability and the stock change feed")
    CUSTOMERS_READ = "customers:read", _("Read the profiles of the customers it reaches")
    CUSTOMERS_WRITE = "customers:write", _("Resolve customers, update profiles and record consents")
    EVENTS_WRITE = "events:write", _("Report customer events (views, searches, visits, carts)")
    SEGMENTS_READ = "segments:read", _("Read segments and the members it reaches")
    ORDERS_READ = "orders:read", _("Read the orders it reaches")
    ORDERS_WRITE = "orders:write", _("Place orders, record payments and cancel its orders")
    ORDERS_FULFIL = "orders:fulfil", _("Make ready, ship, deliver, receive and hand over at its locations")
    PICKUPS_REDEEM = "pickups:redeem", _("Redeem pickup codes at its lockers")
    INVOICES_READ = "invoices:read", _("Read and download the documents it reaches")
    INVOICES_WRITE = "invoices:write", _("Exchange tickets for full invoices")


class Reach(models.TextChoices):
    OWN = "own", _("Only the customers and orders it brought")
    ALL = "all", _("Every customer and order (first-party channels only)")


_SELLING = (
    Scope.CATALOG_READ,
    Scope.INVENTORY_READ,
    Scope.CUSTOMERS_READ,
    Scope.CUSTOMERS_WRITE,
    Scope.EVENTS_WRITE,
    Scope.ORDERS_READ,
    Scope.ORDERS_WRITE,
    Scope.INVOICES_READ,
)

# What a new credential of each channel may do until staff say otherwise.
DEFAULT_SCOPES: dict[str, tuple[Scope, ...]] = {
    Channel.WEB: (*_SELLING, Scope.SEGMENTS_READ, Scope.INVOICES_WRITE),
    Channel.APP: (*_SELLING, Scope.SEGMENTS_READ, Scope.INVOICES_WRITE),
    # A till also works the counter: ready, hand over, receive, at the store it is bound to.
    Channel.STORE: (*_SELLING, Scope.INVOICES_WRITE, Scope.ORDERS_FULFIL),
    Channel.CALL_CENTER: (*_SELLING, Scope.SEGMENTS_READ, Scope.INVOICES_WRITE),
    Channel.SOCIAL: _SELLING,
    Channel.WHATSAPP: _SELLING,
    Channel.MARKETPLACE: _SELLING,
    Channel.EMAIL: (Scope.CATALOG_READ, Scope.EVENTS_WRITE),
    Channel.LOCKER: (Scope.PICKUPS_REDEEM,),
}


def default_scopes(channel: str) -> list[str]:
    return sorted(str(scope) for scope in DEFAULT_SCOPES.get(channel, ()))


def default_reach(channel: str) -> str:
    """First-party channels start with every customer; third parties and devices with their own."""
    return Reach.ALL if channel in FIRST_PARTY_CHANNELS else Reach.OWN


def scopes_unknown(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - set(Scope.values))


def access_problems(*, channel: str, scopes: object, reach: str) -> dict[str, list[str]]:
    """What is wrong with these scopes and this reach for a credential of this channel, by field."""
    problems: dict[str, list[str]] = {}
    if not isinstance(scopes, list | tuple | set) or not all(isinstance(scope, str) for scope in scopes):
        problems["scopes"] = [str(_("A list of scopes."))]
    elif unknown := scopes_unknown(scopes):
        problems["scopes"] = [str(_("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)})]
    if reach not in Reach.values:
        problems["reach"] = [str(_("Choose one of %(values)s.") % {"values": ", ".join(Reach.values)})]
    elif reach == Reach.ALL and channel not in FIRST_PARTY_CHANNELS:
        problems["reach"] = [str(_("Only the retailer's own channels may reach every customer."))]
    return problems
