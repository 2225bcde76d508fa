"""API callers for tests: a channel credential's, a signed-in staff member's (API and admin)."""

from typing import Any

from django.test import Client
from rest_framework.test import APIClient


def token_api(token: str) -> APIClient:
    """An API client sending a channel credential's token."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def staff_api(user: Any) -> APIClient:
    """An API client signed in as a staff member (the admin's session)."""
    api = APIClient()
    api.force_login(user)
    return api


def admin_session(user: Any) -> Client:
    """A browser-like client signed in as a staff member, posting forms to the admin."""
    client = Client()
    client.force_login(user)
    return client
