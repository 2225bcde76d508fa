from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from config.channels import Channel
from tests.factories import CategoryTree, UserFactory, category_tree_create, channel_client
from tests.receivers import receiver  # noqa: F401 (a shared fixture)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters live in the (Redis) cache: start every test from zero. Only this
    # process's keys go (its own prefix): FLUSHDB would wipe a parallel run's counters too.
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
    if keys:
        client.delete(*keys)


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
    return UserFactory.create(username="staff", is_staff=True)
