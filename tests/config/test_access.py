"""Scopes and reach of channel credentials, and the one permission class that enforces them."""

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError
from django.test import Client
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from config.api.access import Access, access_rule
from config.channels import FIRST_PARTY_CHANNELS, Channel
from config.exceptions import ApplicationError
from config.models import ChannelClient
from config.roles import Role
from config.scopes import DEFAULT_SCOPES, Reach, Scope
from config.services import channel_client_access_set, channel_client_create
from tests.api import token_api
from tests.factories import UserFactory, channel_client, staff_with_role

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


# --- Defaults per channel kind


def test_a_locker_starts_with_pickups_redeem_only() -> None:
    client, _token = channel_client(Channel.LOCKER)
    assert client.scopes == ["pickups:redeem"]
    assert client.reach == Reach.OWN


@pytest.mark.parametrize("channel", sorted(FIRST_PARTY_CHANNELS))
def test_first_party_channels_start_reaching_every_customer(channel: str) -> None:
    client, _token = channel_client(channel)
    assert client.reach == Reach.ALL
    assert client.reaches_all


@pytest.mark.parametrize("channel", [Channel.MARKETPLACE, Channel.SOCIAL, Channel.WHATSAPP, Channel.LOCKER])
def test_third_parties_and_devices_start_with_their_own_customers(channel: str) -> None:
    client, _token = channel_client(channel)
    assert client.reach == Reach.OWN
    assert not client.reaches_all


def test_only_a_till_may_fulfil_by_default() -> None:
    may_fulfil = {channel for channel, scopes in DEFAULT_SCOPES.items() if Scope.ORDERS_FULFIL in scopes}
    assert may_fulfil == {Channel.STORE}


def test_every_channel_has_a_default_scope_set() -> None:
    assert set(DEFAULT_SCOPES) == set(Channel.values)


# --- Creating and changing a credential's access


def test_create_channel_client_command_takes_scopes_and_reach() -> None:
    out = StringIO()
    call_command(
        "create_channel_client",
        "--channel",
        "app",
        "--name",
        "Partner app",
        "--scopes",
        "catalog:read, orders:write",
        "--reach",
        "own",
        stdout=out,
        stderr=StringIO(),
    )
    client = ChannelClient.objects.get(name="Partner app")
    assert (client.scopes, client.reach) == (["catalog:read", "orders:write"], Reach.OWN)
    assert token_api(out.getvalue().strip()).get(PRODUCTS).status_code == 200


def test_create_channel_client_command_refuses_an_unknown_scope() -> None:
    with pytest.raises(CommandError, match="orders:everything"):
        call_command(
            "create_channel_client",
            "--channel",
            "web",
            "--name",
            "Web",
            "--scopes",
            "orders:everything",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert not ChannelClient.objects.exists()


def test_a_marketplace_may_not_be_given_every_customer() -> None:
    with pytest.raises(ApplicationError) as excinfo:
        channel_client_create(name="Marketplace", channel=Channel.MARKETPLACE, reach=Reach.ALL)
    assert excinfo.value.code == "reach_not_allowed"
    assert not ChannelClient.objects.exists()


def test_the_database_refuses_every_customer_for_a_third_party() -> None:
    client, _token = channel_client(Channel.MARKETPLACE)
    with pytest.raises(IntegrityError):
        ChannelClient.objects.filter(pk=client.pk).update(reach=Reach.ALL)


def test_access_set_changes_scopes_at_the_next_request() -> None:
    client, token = channel_client(Channel.WEB)
    api = token_api(token)
    assert api.get(PRODUCTS).status_code == 200

    channel_client_access_set(client=client, scopes=[Scope.ORDERS_READ], reach=Reach.ALL)

    response = api.get(PRODUCTS)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"


def test_access_set_refuses_unknown_scopes_and_changes_nothing() -> None:
    client, _token = channel_client(Channel.WEB)
    before = list(client.scopes)
    with pytest.raises(ApplicationError) as excinfo:
        channel_client_access_set(client=client, scopes=["catalog:read", "root"], reach=Reach.ALL)
    assert excinfo.value.code == "unknown_scope"
    client.refresh_from_db()
    assert client.scopes == before


# --- The permission class


def test_a_missing_scope_is_a_403_naming_it() -> None:
    _client, token = channel_client(Channel.WEB, scopes=[Scope.ORDERS_READ])
    response = token_api(token).get(PRODUCTS)
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["scope"]) == ("missing_scope", "catalog:read")
    assert "catalog:read" in error["message"]


def test_a_credential_on_a_staff_only_operation_is_403() -> None:
    _client, token = channel_client(Channel.WEB)
    response = token_api(token).get("/api/v1/invoices/export/?date_from=2026-01-01&date_to=2026-12-31")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_without_the_model_permission_are_403(client: Client) -> None:
    client.force_login(UserFactory.create(is_staff=True))
    response = client.get(PRODUCTS)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_with_the_model_permission_pass(client: Client) -> None:
    client.force_login(staff_with_role(Role.ACCOUNTANT))
    assert client.get(PRODUCTS).status_code == 200


def test_anonymous_callers_are_401(client: Client) -> None:
    assert client.get(PRODUCTS).status_code == 401


def test_options_reveals_nothing() -> None:
    _client, token = channel_client(Channel.WEB)
    assert token_api(token).options(PRODUCTS).status_code == 405


def test_an_undeclared_operation_is_refused() -> None:
    class Undeclared:
        access: dict[str, Access] = {"list": Access(scope=Scope.CATALOG_READ, staff=())}
        action = "destroy"

    assert access_rule(Undeclared(), "DELETE") is None


def test_a_method_rule_overrides_the_action_rule() -> None:
    class Consents:
        access = {
            "consents": Access(scope=Scope.CUSTOMERS_READ, staff=()),
            "consents.post": Access(scope=Scope.CUSTOMERS_WRITE, staff=()),
        }
        action = "consents"

    assert access_rule(Consents(), "GET") == Access(scope=Scope.CUSTOMERS_READ, staff=())
    assert access_rule(Consents(), "HEAD") == Access(scope=Scope.CUSTOMERS_READ, staff=())
    assert access_rule(Consents(), "POST") == Access(scope=Scope.CUSTOMERS_WRITE, staff=())


# --- The OpenAPI says who may call what


def test_every_operation_of_the_schema_says_who_may_call_it(client: Client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "**Access.**" not in operation.get("description", "")
    ]
    assert undocumented == []


def test_the_schema_names_the_scope_of_an_operation(client: Client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/products/"]["get"]
    assert operation["x-required-scope"] == "catalog:read"
    assert operation["x-staff-permissions"] == ["catalog.view_product"]


# --- The admin


def test_staff_change_a_clients_scopes_and_reach_in_the_admin(admin_client: Client) -> None:
    client, _token = channel_client(Channel.APP, name="App")
    response = admin_client.post(
        f"/admin/config/channelclient/{client.pk}/change/",
        {
            "name": "App",
            "reach": Reach.OWN,
            "scopes": [Scope.CATALOG_READ, Scope.ORDERS_WRITE],
            "throttle_rate": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    client.refresh_from_db()
    assert (client.reach, client.scopes) == (Reach.OWN, ["catalog:read", "orders:write"])


def test_the_admin_refuses_every_customer_for_a_locker(admin_client: Client) -> None:
    client, _token = channel_client(Channel.LOCKER, name="Lockers")
    response = admin_client.post(
        f"/admin/config/channelclient/{client.pk}/change/",
        {"name": "Lockers", "reach": Reach.ALL, "scopes": [Scope.PICKUPS_REDEEM], "is_active": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "reach" in response.context["adminform"].form.errors
    client.refresh_from_db()
    assert client.reach == Reach.OWN


def test_a_new_client_in_the_admin_gets_its_channels_defaults(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/config/channelclient/add/", {"name": "Lockers Sants", "channel": Channel.LOCKER, "throttle_rate": ""}
    )
    assert response.status_code == 302
    client = ChannelClient.objects.get(name="Lockers Sants")
    assert (client.scopes, client.reach) == (["pickups:redeem"], Reach.OWN)


class Undeclared(APIView):
    """A view someone added without saying who may call it."""

    def get(self, request: Any) -> Response:
        return Response({"secret": "anyone?"})


def test_a_view_without_a_declaration_refuses_everyone_who_is_not_anonymous() -> None:
    _client, token = channel_client(Channel.WEB)
    factory = APIRequestFactory()
    as_client = factory.get("/undeclared/", HTTP_AUTHORIZATION=f"Token {token}")
    as_manager = factory.get("/undeclared/")
    force_authenticate(as_manager, user=staff_with_role(Role.MANAGER))

    assert Undeclared.as_view()(as_client).status_code == 403
    assert Undeclared.as_view()(as_manager).status_code == 403
    assert Undeclared.as_view()(factory.get("/undeclared/")).status_code == 401
