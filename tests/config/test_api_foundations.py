"""The API's common parts: channel credentials, the error shape, throttling, docs."""

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from config.channels import Channel
from config.exceptions import ApplicationError
from config.models import ChannelClient, token_digest
from config.roles import Role
from config.services import channel_client_create, channel_client_rotate_token
from tests.api import token_api
from tests.factories import staff_with_role

pytestmark = pytest.mark.django_db


def assert_error_shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) >= {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


def test_channels_are_one_list() -> None:
    assert Channel.values == [
        "web",
        "app",
        "store",
        "call_center",
        "social",
        "whatsapp",
        "email",
        "marketplace",
        "locker",
    ]


def test_create_channel_client_command_prints_a_working_token() -> None:
    out = StringIO()
    call_command("create_channel_client", "--channel", "web", "--name", "Web shop", stdout=out, stderr=StringIO())
    token = out.getvalue().strip()
    client = ChannelClient.objects.get(name="Web shop")
    assert client.channel == Channel.WEB
    assert token_api(token).get("/api/v1/products/").status_code == 200


def test_token_is_stored_only_as_a_digest() -> None:
    client, token = channel_client_create(name="Till 1", channel=Channel.STORE)
    stored = ChannelClient.objects.filter(pk=client.pk).values_list("token_digest", "token_prefix").get()
    assert stored == (token_digest(token), token[:8])
    assert token not in stored[0]


def test_create_channel_client_refuses_an_unknown_channel() -> None:
    with pytest.raises(CommandError):
        call_command("create_channel_client", "--channel", "fax", "--name", "Fax", stdout=StringIO(), stderr=StringIO())
    assert not ChannelClient.objects.exists()


def test_create_channel_client_refuses_a_taken_name() -> None:
    channel_client_create(name="Web shop", channel=Channel.WEB)
    with pytest.raises(ApplicationError) as excinfo:
        channel_client_create(name="Web shop", channel=Channel.APP)
    assert excinfo.value.code == "duplicate_name"
    assert ChannelClient.objects.count() == 1


def test_create_channel_client_refuses_a_malformed_rate() -> None:
    with pytest.raises(ApplicationError) as excinfo:
        channel_client_create(name="Web shop", channel=Channel.WEB, throttle_rate="lots")
    assert excinfo.value.code == "invalid_throttle_rate"
    assert not ChannelClient.objects.exists()


def test_missing_token_is_401_with_the_error_shape(anonymous_api: APIClient) -> None:
    response = anonymous_api.get("/api/v1/products/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Token")
    assert_error_shape(response.json(), "not_authenticated")


def test_wrong_token_is_401(db: Any) -> None:
    response = token_api("not-a-token").get("/api/v1/products/")
    assert response.status_code == 401
    assert_error_shape(response.json(), "invalid_token")


def test_inactive_client_is_refused() -> None:
    client, token = channel_client_create(name="Old app", channel=Channel.APP)
    ChannelClient.objects.filter(pk=client.pk).update(is_active=False)
    assert token_api(token).get("/api/v1/products/").status_code == 401


def test_bearer_keyword_works_too() -> None:
    _, token = channel_client_create(name="Marketplace", channel=Channel.MARKETPLACE)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/products/").status_code == 200


def test_rotated_token_replaces_the_old_one() -> None:
    client, old = channel_client_create(name="Till 2", channel=Channel.STORE)
    new = channel_client_rotate_token(client=client)
    assert token_api(old).get("/api/v1/products/").status_code == 401
    assert token_api(new).get("/api/v1/products/").status_code == 200


def test_unknown_api_path_is_404_with_the_error_shape(api: APIClient) -> None:
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert_error_shape(response.json(), "not_found")


def test_server_error_under_api_keeps_the_error_shape(rf: Any) -> None:
    from config.api.errors import handler500

    response = handler500(rf.get("/api/v1/products/"))
    assert response.status_code == 500
    import json

    assert_error_shape(json.loads(response.content), "server_error")


def test_application_errors_map_to_their_status_and_code(rf: Any) -> None:
    from config.api.errors import exception_handler
    from config.exceptions import ConfigErrorCode, ConflictError

    response = exception_handler(
        ConflictError("Already taken.", code=ConfigErrorCode.DUPLICATE_NAME, fields={"name": ["Used."]}), {}
    )
    assert response is not None
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "duplicate_name", "message": "Already taken.", "fields": {"name": ["Used."]}}
    }


def test_throttle_rate_is_per_client() -> None:
    _, slow = channel_client_create(name="Slow social bot", channel=Channel.SOCIAL, throttle_rate="3/min")
    _, fast = channel_client_create(name="Web shop", channel=Channel.WEB)
    slow_api, fast_api = token_api(slow), token_api(fast)
    assert [slow_api.get("/api/v1/categories/").status_code for _ in range(3)] == [200, 200, 200]
    throttled = slow_api.get("/api/v1/categories/")
    assert throttled.status_code == 429
    assert_error_shape(throttled.json(), "throttled")
    assert int(throttled.headers["Retry-After"]) > 0
    # Another client's budget is its own.
    assert [fast_api.get("/api/v1/categories/").status_code for _ in range(5)] == [200] * 5


def test_staff_session_reads_the_api_and_customers_do_not(django_user_model: Any) -> None:
    staff = staff_with_role(Role.STORE_STAFF, username="ana")
    shopper = django_user_model.objects.create_user("luis", password="pw-123456")
    browser = APIClient()
    browser.force_login(staff)
    assert browser.get("/api/v1/products/").status_code == 200
    browser.force_login(shopper)
    response = browser.get("/api/v1/products/")
    assert response.status_code == 403
    assert_error_shape(response.json(), "permission_denied")


def test_api_root_is_versioned(api: APIClient) -> None:
    response = api.get("/api/v1/")
    assert response.status_code == 200
    assert "products" in response.json()


def test_openapi_schema_describes_v1_and_the_token_scheme(client: Client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/products/" in schema["paths"]
    assert "/api/v1/variants/{sku}/" in schema["paths"]
    assert "ChannelToken" in schema["components"]["securitySchemes"]


def test_swagger_ui_is_served_from_local_static_files(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))], assets
    bundle = next(a for a in assets if "swagger-ui-bundle" in a)
    assert client.get(bundle).status_code == 200


def test_health_check_answers(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_deactivated_clients_lose_access_at_once() -> None:
    from config.services import channel_clients_deactivate

    client, token = channel_client_create(name="Lost till", channel=Channel.STORE)
    assert token_api(token).get("/api/v1/products/").status_code == 200

    assert channel_clients_deactivate(clients=[client]) == 1

    assert token_api(token).get("/api/v1/products/").status_code == 401


def test_openapi_schema_generates_without_warnings() -> None:
    # Ambiguous enum names or unresolvable serializers would print warnings here.
    out, err = StringIO(), StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)
    assert "/api/v1/customers/resolve/" in out.getvalue()


def test_a_services_refusal_tells_why(rf: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from config.api.errors import exception_handler

    response = exception_handler(PermissionDenied("You do not work at this order's pickup location."), {})

    assert response is not None
    assert response.status_code == 403
    assert response.data["error"]["code"] == "permission_denied"
    assert response.data["error"]["message"] == "You do not work at this order's pickup location."
