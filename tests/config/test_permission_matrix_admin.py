"""The permission matrix of the admin: every page by every kind of caller, in one table.

A page of the admin answers (GET):
- `ok`    the page (200)
- `login` a redirect to sign in: nobody, and every channel credential (tokens do not open the admin)
- `gone`  a redirect to the admin's index: the object is not among those this person may see
- `moved` any other redirect (signing in again, signed in already)
- `403`   signed in, but the page needs a permission this role does not have
- `404`   no such page (an address under /admin/ that nothing answers)
- `405`   the page takes no GET (logout is a POST)

The columns are the callers of tests/config/access_world.py; `guest` stands for anon, web, mkt,
lkA and lkB, who must all get the same answer (each is tried). Objects are the world's (an order
picked up at store X, the stock of store X...). A page without a row fails
`test_every_admin_url_has_a_row`.
"""

from functools import partial
from typing import Any

import pytest
from django.apps import apps
from django.db.models import Model
from django.urls import reverse

from inventory.models import CycleCount, LowStockAlert, StockLevel, StockMovement, Transfer, TransferLeadTime
from inventory.services import cycle_count_create, low_stock_threshold_set
from orders.models import Refund
from tests.config.access_world import (
    ROLES,
    STAFF_ROLES,
    World,
    admin_url_names,
    answer_of,
    cell,
    cell_response,
    world_create,
)
from tests.factories import PromotionFactory, delivery_method_create, delivery_zone_create

pytestmark = pytest.mark.django_db

GUESTS = ("anon", "web", "mkt", "lkA", "lkB", "tlX")
COLUMNS = ("guest", *STAFF_ROLES)

# fmt: off
MATRIX = """
url name                                          guest stX  stY  wh   agt  acc  mgr  su
admin:app_list                                    login ok   ok   ok   ok   ok   ok   ok
admin:auth_group_add                              login 403  403  403  403  403  403  ok
admin:auth_group_change                           login 403  403  403  403  403  403  ok
admin:auth_group_changelist                       login 403  403  403  403  403  403  ok
admin:auth_group_delete                           login 403  403  403  403  403  403  ok
admin:auth_group_history                          login 403  403  403  403  403  403  ok
admin:auth_user_add                               login 403  403  403  403  403  403  ok
admin:auth_user_change                            login 403  403  403  403  403  403  ok
admin:auth_user_changelist                        login 403  403  403  403  403  403  ok
admin:auth_user_delete                            login 403  403  403  403  403  403  ok
admin:auth_user_history                           login 403  403  403  403  403  403  ok
admin:auth_user_password_change                   login 403  403  403  403  403  403  ok
admin:autocomplete                                login 403  403  403  403  403  403  403
admin:catalog_category_add                        login 403  403  403  403  403  ok   ok
admin:catalog_category_change                     login ok   ok   ok   ok   ok   ok   ok
admin:catalog_category_changelist                 login ok   ok   ok   ok   ok   ok   ok
admin:catalog_category_delete                     login 403  403  403  403  403  ok   ok
admin:catalog_category_history                    login ok   ok   ok   ok   ok   ok   ok
admin:catalog_product_add                         login 403  403  403  403  403  ok   ok
admin:catalog_product_change                      login ok   ok   ok   ok   ok   ok   ok
admin:catalog_product_changelist                  login ok   ok   ok   ok   ok   ok   ok
admin:catalog_product_delete                      login 403  403  403  403  403  ok   ok
admin:catalog_product_export                      login ok   ok   ok   ok   ok   ok   ok
admin:catalog_product_history                     login ok   ok   ok   ok   ok   ok   ok
admin:catalog_product_import                      login 403  403  403  403  403  ok   ok
admin:catalog_product_process_import              login 405  405  405  405  405  405  405
admin:catalog_promotion_add                       login 403  403  403  403  403  ok   ok
admin:catalog_promotion_change                    login ok   ok   ok   ok   ok   ok   ok
admin:catalog_promotion_changelist                login ok   ok   ok   ok   ok   ok   ok
admin:catalog_promotion_delete                    login 403  403  403  403  403  ok   ok
admin:catalog_promotion_history                   login ok   ok   ok   ok   ok   ok   ok
admin:catalog_taxcategory_add                     login 403  403  403  403  403  ok   ok
admin:catalog_taxcategory_change                  login ok   ok   ok   ok   ok   ok   ok
admin:catalog_taxcategory_changelist              login ok   ok   ok   ok   ok   ok   ok
admin:catalog_taxcategory_delete                  login 403  403  403  403  403  ok   ok
admin:catalog_taxcategory_history                 login ok   ok   ok   ok   ok   ok   ok
admin:catalog_variant_add                         login 403  403  403  403  403  ok   ok
admin:catalog_variant_change                      login ok   ok   ok   ok   ok   ok   ok
admin:catalog_variant_changelist                  login ok   ok   ok   ok   ok   ok   ok
admin:catalog_variant_delete                      login 403  403  403  403  403  ok   ok
admin:catalog_variant_history                     login ok   ok   ok   ok   ok   ok   ok
admin:catch_all                                   login 404  404  404  404  404  404  404
admin:config_channelclient_add                    login 403  403  403  403  403  403  ok
admin:config_channelclient_change                 login 403  403  403  403  403  ok   ok
admin:config_channelclient_changelist             login 403  403  403  403  403  ok   ok
admin:config_channelclient_delete                 login 403  403  403  403  403  403  ok
admin:config_channelclient_history                login 403  403  403  403  403  ok   ok
admin:config_outboxmessage_add                    login 403  403  403  403  403  403  403
admin:config_outboxmessage_change                 login 403  403  403  403  403  ok   ok
admin:config_outboxmessage_changelist             login 403  403  403  403  403  ok   ok
admin:config_outboxmessage_delete                 login 403  403  403  403  403  403  403
admin:config_outboxmessage_history                login 403  403  403  403  403  ok   ok
admin:config_webhooksubscription_add              login 403  403  403  403  403  403  ok
admin:config_webhooksubscription_change           login 403  403  403  403  403  gone gone
admin:config_webhooksubscription_changelist       login 403  403  403  403  403  ok   ok
admin:config_webhooksubscription_delete           login 403  403  403  403  403  403  gone
admin:config_webhooksubscription_history          login gone gone gone gone gone gone gone
admin:customers_customer_add                      login 403  403  403  403  403  403  403
admin:customers_customer_change                   login 403  403  403  ok   403  ok   ok
admin:customers_customer_changelist               login 403  403  403  ok   403  ok   ok
admin:customers_customer_delete                   login 403  403  403  403  403  403  403
admin:customers_customer_history                  login 403  403  403  ok   403  ok   ok
admin:customers_customer_loyalty_points           login 403  403  403  403  403  ok   ok
admin:customers_customer_store_credit             login 403  403  403  403  403  ok   ok
admin:customers_customermerge_add                 login 403  403  403  403  403  403  403
admin:customers_customermerge_change              login 403  403  403  403  403  gone gone
admin:customers_customermerge_changelist          login 403  403  403  403  403  ok   ok
admin:customers_customermerge_delete              login 403  403  403  403  403  403  gone
admin:customers_customermerge_history             login gone gone gone gone gone gone gone
admin:customers_duplicatecandidate_add            login 403  403  403  403  403  403  403
admin:customers_duplicatecandidate_change         login 403  403  403  403  403  gone gone
admin:customers_duplicatecandidate_changelist     login 403  403  403  403  403  ok   ok
admin:customers_duplicatecandidate_delete         login 403  403  403  403  403  403  gone
admin:customers_duplicatecandidate_history        login gone gone gone gone gone gone gone
admin:customers_loyaltyaccount_add                login 403  403  403  403  403  403  403
admin:customers_loyaltyaccount_change             login 403  403  403  ok   403  ok   ok
admin:customers_loyaltyaccount_changelist         login 403  403  403  ok   403  ok   ok
admin:customers_loyaltyaccount_delete             login 403  403  403  403  403  403  ok
admin:customers_loyaltyaccount_history            login 403  403  403  ok   403  ok   ok
admin:customers_segment_add                       login 403  403  403  403  403  ok   ok
admin:customers_segment_change                    login 403  403  403  ok   403  ok   ok
admin:customers_segment_changelist                login 403  403  403  ok   403  ok   ok
admin:customers_segment_delete                    login 403  403  403  403  403  ok   ok
admin:customers_segment_history                   login 403  403  403  ok   403  ok   ok
admin:customers_storecreditentry_add              login 403  403  403  403  403  403  403
admin:customers_storecreditentry_change           login 403  403  403  gone gone gone gone
admin:customers_storecreditentry_changelist       login 403  403  403  ok   ok   ok   ok
admin:customers_storecreditentry_delete           login 403  403  403  403  403  403  403
admin:customers_storecreditentry_history          login gone gone gone gone gone gone gone
admin:index                                       login ok   ok   ok   ok   ok   ok   ok
admin:inventory_cyclecount_add                    login ok   ok   ok   403  403  ok   ok
admin:inventory_cyclecount_change                 login ok   gone gone 403  403  ok   ok
admin:inventory_cyclecount_changelist             login ok   ok   ok   403  403  ok   ok
admin:inventory_cyclecount_delete                 login 403  403  403  403  403  403  403
admin:inventory_cyclecount_history                login ok   gone gone gone gone ok   ok
admin:inventory_location_add                      login 403  403  403  403  403  ok   ok
admin:inventory_location_change                   login ok   gone gone gone gone ok   ok
admin:inventory_location_changelist               login ok   ok   ok   ok   ok   ok   ok
admin:inventory_location_delete                   login 403  403  403  403  403  403  ok
admin:inventory_location_history                  login ok   gone gone gone gone ok   ok
admin:inventory_lowstockalert_add                 login 403  403  403  403  403  403  403
admin:inventory_lowstockalert_change              login ok   gone gone 403  403  ok   ok
admin:inventory_lowstockalert_changelist          login ok   ok   ok   403  403  ok   ok
admin:inventory_lowstockalert_delete              login 403  403  403  403  403  403  403
admin:inventory_lowstockalert_history             login ok   gone gone gone gone ok   ok
admin:inventory_stocklevel_add                    login 403  403  403  403  403  403  403
admin:inventory_stocklevel_adjust                 login ok   ok   ok   403  403  ok   ok
admin:inventory_stocklevel_change                 login ok   gone gone gone 403  ok   ok
admin:inventory_stocklevel_changelist             login ok   ok   ok   ok   403  ok   ok
admin:inventory_stocklevel_delete                 login 403  403  403  403  403  403  403
admin:inventory_stocklevel_history                login ok   gone gone gone gone ok   ok
admin:inventory_stocklevel_threshold              login ok   ok   ok   403  403  ok   ok
admin:inventory_stockmovement_add                 login 403  403  403  403  403  403  403
admin:inventory_stockmovement_change              login ok   gone gone 403  403  ok   ok
admin:inventory_stockmovement_changelist          login ok   ok   ok   403  403  ok   ok
admin:inventory_stockmovement_delete              login 403  403  403  403  403  403  403
admin:inventory_stockmovement_history             login ok   gone gone gone gone ok   ok
admin:inventory_transfer_add                      login ok   ok   ok   403  403  ok   ok
admin:inventory_transfer_change                   login gone gone ok   403  403  ok   ok
admin:inventory_transfer_changelist               login ok   ok   ok   403  403  ok   ok
admin:inventory_transfer_delete                   login 403  403  403  403  403  403  403
admin:inventory_transfer_history                  login gone gone ok   gone gone ok   ok
admin:inventory_transferleadtime_add              login 403  403  403  403  403  ok   ok
admin:inventory_transferleadtime_change           login ok   ok   ok   403  403  ok   ok
admin:inventory_transferleadtime_changelist       login ok   ok   ok   403  403  ok   ok
admin:inventory_transferleadtime_delete           login 403  403  403  403  403  ok   ok
admin:inventory_transferleadtime_history          login ok   ok   ok   403  403  ok   ok
admin:invoicing_billingrecord_add                 login 403  403  403  403  403  403  403
admin:invoicing_billingrecord_change              login 403  403  403  403  ok   ok   ok
admin:invoicing_billingrecord_changelist          login 403  403  403  403  ok   ok   ok
admin:invoicing_billingrecord_delete              login 403  403  403  403  403  403  403
admin:invoicing_billingrecord_history             login 403  403  403  403  ok   ok   ok
admin:invoicing_invoice_add                       login 403  403  403  403  403  403  403
admin:invoicing_invoice_change                    login 403  403  403  ok   ok   ok   ok
admin:invoicing_invoice_changelist                login 403  403  403  ok   ok   ok   ok
admin:invoicing_invoice_delete                    login 403  403  403  403  403  403  403
admin:invoicing_invoice_download                  login 403  403  403  ok   ok   ok   ok
admin:invoicing_invoice_history                   login 403  403  403  ok   ok   ok   ok
admin:invoicing_invoiceseries_add                 login 403  403  403  403  403  ok   ok
admin:invoicing_invoiceseries_change              login 403  403  403  403  ok   ok   ok
admin:invoicing_invoiceseries_changelist          login 403  403  403  403  ok   ok   ok
admin:invoicing_invoiceseries_delete              login 403  403  403  403  403  403  ok
admin:invoicing_invoiceseries_history             login 403  403  403  403  ok   ok   ok
admin:invoicing_seller_add                        login 403  403  403  403  403  ok   ok
admin:invoicing_seller_change                     login 403  403  403  403  ok   ok   ok
admin:invoicing_seller_changelist                 login 403  403  403  403  ok   ok   ok
admin:invoicing_seller_delete                     login 403  403  403  403  403  403  ok
admin:invoicing_seller_history                    login 403  403  403  403  ok   ok   ok
admin:javascript-catalog                          ok   ok   ok   ok   ok   ok   ok   ok
admin:jsi18n                                      login ok   ok   ok   ok   ok   ok   ok
admin:login                                       ok   gone gone gone gone gone gone gone
admin:logout                                      gone 405  405  405  405  405  405  405
admin:orders_deliverymethod_add                   login 403  403  403  403  403  ok   ok
admin:orders_deliverymethod_change                login ok   ok   ok   ok   ok   ok   ok
admin:orders_deliverymethod_changelist            login ok   ok   ok   ok   ok   ok   ok
admin:orders_deliverymethod_delete                login 403  403  403  403  403  ok   ok
admin:orders_deliverymethod_history               login ok   ok   ok   ok   ok   ok   ok
admin:orders_deliveryzone_add                     login 403  403  403  403  403  ok   ok
admin:orders_deliveryzone_change                  login ok   ok   ok   ok   ok   ok   ok
admin:orders_deliveryzone_changelist              login ok   ok   ok   ok   ok   ok   ok
admin:orders_deliveryzone_delete                  login 403  403  403  403  403  ok   ok
admin:orders_deliveryzone_history                 login ok   ok   ok   ok   ok   ok   ok
admin:orders_order_add                            login 403  403  403  403  403  403  403
admin:orders_order_change                         login ok   gone gone ok   ok   ok   ok
admin:orders_order_changelist                     login ok   ok   ok   ok   ok   ok   ok
admin:orders_order_delete                         login 403  403  403  403  403  403  403
admin:orders_order_history                        login ok   gone gone ok   ok   ok   ok
admin:orders_order_pickups                        login ok   ok   ok   ok   ok   ok   ok
admin:orders_ordernotification_add                login 403  403  403  403  403  403  403
admin:orders_ordernotification_change             login ok   gone 403  ok   403  ok   ok
admin:orders_ordernotification_changelist         login ok   ok   403  ok   403  ok   ok
admin:orders_ordernotification_delete             login 403  403  403  403  403  403  403
admin:orders_ordernotification_history            login ok   gone gone ok   403  ok   ok
admin:orders_refund_add                           login 403  403  403  403  403  403  403
admin:orders_refund_change                        login ok   gone 403  ok   ok   ok   ok
admin:orders_refund_changelist                    login ok   ok   403  ok   ok   ok   ok
admin:orders_refund_delete                        login 403  403  403  403  403  403  403
admin:orders_refund_history                       login ok   gone gone ok   ok   ok   ok
admin:orders_parcel_add                           login 403  403  403  403  403  403  403
admin:orders_parcel_change                        login gone gone ok   ok   403  ok   ok
admin:orders_parcel_changelist                    login ok   ok   ok   ok   403  ok   ok
admin:orders_parcel_delete                        login 403  403  403  403  403  403  403
admin:orders_parcel_history                       login gone gone ok   ok   403  ok   ok
admin:password_change                             login ok   ok   ok   ok   ok   ok   ok
admin:password_change_done                        login ok   ok   ok   ok   ok   ok   ok
admin:view_on_site                                login 404  404  404  404  404  404  404
"""
# fmt: on


def parse(table: str) -> list[tuple[str, dict[str, str]]]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[2:]) == COLUMNS, header
    parsed = []
    for row in rows:
        name, answers = row[0], row[1:]
        assert len(answers) == len(COLUMNS), row
        by_column = dict(zip(COLUMNS, answers, strict=True))
        parsed.append((name, {role: by_column["guest" if role in GUESTS else role] for role in ROLES}))
    return parsed


ROWS = parse(MATRIX)


def test_every_admin_url_has_a_row() -> None:
    assert admin_url_names() - {name for name, _ in ROWS} == set()


def objects_of(world: World) -> dict[str, Model]:
    """The object each model's pages open: at store X where the model belongs to a location."""
    x = world.store_x
    cycle_count_create(location=x, lines=[(world.shirt, 4)])
    low_stock_threshold_set(location=x, variant=world.shirt, threshold=100)
    PromotionFactory.create(variants=[world.shirt])
    TransferLeadTime.objects.create(source=world.warehouse, destination=x, days=2)
    peninsula = delivery_zone_create("peninsula", ("ES", ""))
    delivery_method_create("standard", rates=[(peninsula, None, "4.95", None)])
    chosen: dict[str, Model] = {
        "orders_order": world.orders["pickup_x"],
        "inventory_stocklevel": StockLevel.objects.get(location=x, variant=world.shirt),
        "inventory_stockmovement": StockMovement.objects.filter(location=x).order_by("pk").first(),  # type: ignore[dict-item]
        "inventory_transfer": Transfer.objects.order_by("pk").first(),  # type: ignore[dict-item]
        "inventory_cyclecount": CycleCount.objects.get(location=x),
        "inventory_lowstockalert": LowStockAlert.objects.get(stock_level__location=x),
        "inventory_location": x,
        "customers_customer": world.customers["web"],
        "invoicing_invoice": world.invoices["web"],
        "auth_user": world.users["stX"],
    }
    for model in apps.get_models():
        key = f"{model._meta.app_label}_{model._meta.model_name}"
        if key not in chosen:
            first = model._default_manager.order_by("pk").first()
            if first is not None:
                chosen[key] = first
    return chosen


def url_for(name: str, objects: dict[str, Model]) -> str:
    short = name.removeprefix("admin:")
    if short in ("password_change", "password_change_done"):
        return reverse(name)
    if short == "catch_all":
        return "/admin/no-such-page/"
    if short == "app_list":
        return reverse(name, kwargs={"app_label": "orders"})
    if short == "view_on_site":
        return reverse(name, kwargs={"content_type_id": 1, "object_id": 1})
    if short == "auth_user_password_change":
        return reverse(name, kwargs={"id": objects["auth_user"].pk})
    if short in ("customers_customer_store_credit", "customers_customer_loyalty_points"):
        return reverse(name, kwargs={"object_id": objects["customers_customer"].pk})
    if short == "invoicing_invoice_download":
        return reverse(name, args=[objects["invoicing_invoice"].pk, "pdf"])
    for suffix in ("_change", "_delete", "_history", "_download"):
        if short.endswith(suffix):
            obj = objects.get(short.removesuffix(suffix))
            return reverse(name, kwargs={"object_id": obj.pk if obj is not None else 999999})
    return reverse(name)


def get(caller: Any, *, url: str) -> Any:
    return caller.get(url)


def test_the_admin_answers_as_the_matrix_says() -> None:
    world = world_create()
    objects = objects_of(world)
    wrong, actual = [], []
    for name, expected in ROWS:
        url = url_for(name, objects)
        got = {role: cell(world, role, partial(get, url=url)) for role in ROLES}
        guests = {got[role] for role in GUESTS}
        actual.append(
            f"{name:<49} {'/'.join(sorted(guests)):<5} " + " ".join(f"{got[role]:<4}" for role in STAFF_ROLES)
        )
        wrong += [
            f"{name} as {role}: expected {expected[role]}, got {got[role]}"
            for role in ROLES
            if got[role] != expected[role]
        ]
    assert wrong == [], "\n" + "\n".join(wrong) + "\n\nThe answers as a table:\n" + "\n".join(actual)


def test_the_matrix_tables_name_only_real_urls() -> None:
    known = admin_url_names()
    assert {name for name, _ in ROWS} - known == set()


# --- Settling money by hand: the Refunds screen's actions -----------------------------------
# What a POST of each action on the cash refund of `cancelled_x` (the till of X) leaves it as:
# `failed` settled by hand, `pending` refused (the action is not this role's), or the page's answer.
# Only accounts and managers settle (orders.roles): not store staff, not agents nor team leads.

# fmt: off
SETTLE_MATRIX = """
settle action                                     guest stX  stY  wh   agt  acc  mgr  su
settle_by_hand                                    login pending pending 403 pending failed failed failed
"""
# fmt: on


def settle_cell(world: World, role: str, action: str) -> str:
    refund = world.refunds["cash"]

    def send(caller: Any) -> str:
        data = {"action": action, "_selected_action": [refund.pk], "apply": "1", "outcome": "failed", "reason": "x"}
        # A browser posts the action as a form (the callers are API clients: JSON by default).
        response = caller.post(reverse("admin:orders_refund_changelist"), data, format="multipart")
        answer = answer_of(response)
        if answer in ("login", "403"):
            return answer
        return str(Refund.objects.get(pk=refund.pk).status)

    return str(cell_response(world, role, send))


def test_only_accounts_and_managers_settle_refunds_by_hand() -> None:
    world = world_create()
    for action, expected in parse(SETTLE_MATRIX):
        got = {role: settle_cell(world, role, action) for role in ROLES}
        assert {role: got[role] for role in ROLES} == expected, action
