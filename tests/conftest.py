from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from config.channels import Channel
from config.roles import Role
from tests.factories import CategoryTree, category_tree_create, channel_client, staff_with_role
from tests.receivers import receiver  # noqa: F401 (a shared fixture)
from tests.scenarios import shop  # noqa: F401 (a shared fixture: the scenario every app's tests may use)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters live in the (Redis) cache: start every test from zero. Only this
    # process's keys go (its own prefix): FLUSHDB would wipe a parallel run's counters too.
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _language_reset() -> Any:
    """Every test starts and ends in the project's language.

    A request through LocaleMiddleware, or a command, activates a language for the thread and
    leaves it there: the next test in the same worker would otherwise run in Spanish.
    """
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def web_client(db: Any) -> tuple[Any, str]:
    return channel_client(Channel.WEB, name="Web shop")


@pytest.fixture
def api(web_client: tuple[Any, str]) -> APIClient:
    """An API client authenticated as the web shop channel."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {web_client[1]}")
    return client


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


@pytest.fixture
def category_tree(db: Any) -> CategoryTree:
    """Ropa > Camisetas > Manga corta, and Ropa > Pantalones."""
    return category_tree_create()


@pytest.fixture
def staff_user(db: Any) -> Any:
    """A manager: every permission of the business, every location (config.roles)."""
    return staff_with_role(Role.MANAGER, username="staff")
