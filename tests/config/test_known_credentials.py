"""Finding 8: the demo's known tokens and passwords exist only in the embedded default.

`load_demo` created `demo-web-token` in every profile, and on PostgreSQL with DEBUG=0 the
known token was accepted. Now the demo makes random credentials outside the embedded
default, the API refuses the known tokens there, and production refuses to start while one
is in its database.
"""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from config import demo
from config.channels import Channel
from config.models import ChannelClient, token_digest
from config.security import known_credentials_found
from config.services import channel_client_create
from tests.api import token_api
from tests.config.test_settings import PRODUCTION_ENV, run_python, settings_values

KNOWN_TOKEN = "demo-web-token"


@pytest.mark.django_db
def test_a_known_demo_token_is_refused_outside_the_embedded_default() -> None:
    channel_client_create(name="Tienda web", channel=Channel.WEB, token=KNOWN_TOKEN)

    response = token_api(KNOWN_TOKEN).get("/api/v1/products/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


@pytest.mark.django_db
def test_the_embedded_default_accepts_its_known_demo_token(settings: Any) -> None:
    settings.DEMO_KNOWN_CREDENTIALS = True
    channel_client_create(name="Tienda web", channel=Channel.WEB, token=KNOWN_TOKEN)

    assert token_api(KNOWN_TOKEN).get("/api/v1/products/").status_code == 200


@pytest.mark.django_db
def test_outside_the_embedded_default_the_demo_makes_random_credentials() -> None:
    demo.credentials_created.clear()
    demo.load()

    admin = get_user_model().objects.get(username=demo.ADMIN_USERNAME)
    assert not admin.check_password(demo.ADMIN_PASSWORD)
    known = {token_digest(token) for _name, _channel, token in demo.CHANNEL_CLIENTS}
    assert not ChannelClient.objects.filter(token_digest__in=known).exists()
    # What was made is printed once, and it works.
    printed = dict(demo.credentials_created)
    assert admin.check_password(printed[f"password of {demo.ADMIN_USERNAME}"])
    assert token_api(printed["token of Tienda web"]).get("/api/v1/products/").status_code == 200
    assert known_credentials_found() == []


@pytest.mark.django_db
def test_the_embedded_default_demo_uses_the_known_credentials(settings: Any) -> None:
    settings.DEMO_KNOWN_CREDENTIALS = True
    demo.load()

    assert get_user_model().objects.get(username="admin").check_password("admin")
    assert ChannelClient.objects.filter(token_digest=token_digest(KNOWN_TOKEN)).exists()


@pytest.mark.django_db
def test_known_credentials_are_found_by_token_and_by_password() -> None:
    channel_client_create(name="Copied web shop", channel=Channel.WEB, token=KNOWN_TOKEN)
    get_user_model().objects.create_user(username="admin", password="admin")

    assert known_credentials_found() == ["channel client 'Copied web shop'", "user 'admin'"]


@pytest.mark.django_db
def test_a_known_demo_password_does_not_sign_in_outside_the_embedded_default(client: Any) -> None:
    get_user_model().objects.create_superuser(username="admin", email="a@example.com", password="admin")

    assert not client.login(username="admin", password="admin")
    response = client.post("/admin/login/?next=/admin/", {"username": "admin", "password": "admin"})
    assert response.status_code == 200  # the form again
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_the_embedded_default_signs_in_with_its_known_password(client: Any, settings: Any) -> None:
    settings.DEMO_KNOWN_CREDENTIALS = True
    get_user_model().objects.create_superuser(username="admin", email="a@example.com", password="admin")

    assert client.login(username="admin", password="admin")


@pytest.mark.django_db
def test_another_password_of_a_demo_login_signs_in(client: Any) -> None:
    get_user_model().objects.create_superuser(username="admin", email="a@example.com", password="a-long-secret-9")

    assert client.login(username="admin", password="a-long-secret-9")


def test_the_local_profile_on_postgresql_has_no_known_credentials() -> None:
    on_postgres = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/retail", "DEBUG": "0"}
    assert settings_values(on_postgres, "settings.DEMO_KNOWN_CREDENTIALS") == [False]


def test_the_embedded_default_has_the_known_credentials(tmp_path: Path) -> None:
    assert settings_values({"DATA_DIR": str(tmp_path)}, "settings.DEMO_KNOWN_CREDENTIALS") == [True]


def production_start(database: str) -> Any:
    """Import the production WSGI application, as gunicorn does, against this database."""
    env = PRODUCTION_ENV | {"DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}"}
    return run_python("import config.wsgi", env)


@pytest.mark.django_db(transaction=True)
def test_the_local_profile_on_postgresql_refuses_to_start_with_a_known_token() -> None:
    # `make serve`: the local settings against PostgreSQL, DEBUG off (finding 8's setting).
    channel_client_create(name="Tienda web", channel=Channel.WEB, token=KNOWN_TOKEN)
    database_url = f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}"

    result = run_python("import config.wsgi", {"DATABASE_URL": database_url, "DEBUG": "0"})

    assert result.returncode != 0
    assert "Refusing to start" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_production_refuses_to_start_with_a_known_token() -> None:
    channel_client_create(name="Tienda web", channel=Channel.WEB, token=KNOWN_TOKEN)

    result = production_start(connection.settings_dict["NAME"])

    assert result.returncode != 0
    assert "Refusing to start" in result.stderr
    assert "Tienda web" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_production_refuses_to_start_with_a_known_password() -> None:
    # Hashed as production hashes (the test settings use MD5, which production does not read).
    password = PBKDF2PasswordHasher().encode("admin", PBKDF2PasswordHasher().salt())
    get_user_model().objects.create(username="admin", email="a@example.com", password=password, is_superuser=True)

    result = production_start(connection.settings_dict["NAME"])

    assert result.returncode != 0
    assert "user 'admin'" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_production_starts_without_known_credentials() -> None:
    channel_client_create(name="Tienda web", channel=Channel.WEB)
    get_user_model().objects.create_superuser(username="admin", email="a@example.com", password="a-long-secret-9")

    result = production_start(connection.settings_dict["NAME"])

    assert result.returncode == 0, result.stderr
