"""The admin speaks Spanish and English; staff switch from the header."""

from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client: Client, django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("ana", "ana@example.com", "pw-123456")
    client.force_login(user)
    return client


def test_admin_follows_the_browser_language(staff_client: Client) -> None:
    spanish = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    english = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cerrar sesión" in spanish
    assert "Log out" in english


def test_staff_switch_language_from_the_header(staff_client: Client) -> None:
    page = staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="language"' in page
    staff_client.post("/i18n/setlang/", {"language": "es", "next": "/admin/"})
    assert "Cerrar sesión" in staff_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_our_own_texts_are_translated(staff_client: Client) -> None:
    with translation.override("es"):
        running_now = gettext("Running now")
        site_name = gettext("Retail back-office")
    assert running_now != "Running now"
    page = staff_client.get("/admin/catalog/promotion/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert running_now in page
    assert site_name in page
