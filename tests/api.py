"""API callers for tests: a channel credential's, a signed-in staff member's."""

from typing import Any

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
