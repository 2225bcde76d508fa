"""The admin kit leans on Django's internals in one place: UseCaseFormMixin runs a form's POST
through ModelAdmin._changeform_view, outside the atomic block Django's changeform_view opens,
because the use case `save_model` calls opens its own durable transaction. These tests fail if
Django renames or changes that method, or if such a POST runs inside an atomic block again."""

import inspect
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client

from config.admin_kit import UseCaseFormMixin
from config.channels import Channel
from config.models import ChannelClient
from config.scopes import Reach, Scope
from tests.factories import channel_client

pytestmark = pytest.mark.django_db


def test_django_still_offers_the_change_form_without_its_atomic_block() -> None:
    private = getattr(admin.ModelAdmin, "_changeform_view", None)

    assert callable(private)
    assert list(inspect.signature(private).parameters) == ["self", "request", "object_id", "form_url", "extra_context"]


def test_every_use_case_admin_keeps_the_kits_change_form() -> None:
    use_case_admins = [
        model_admin for model_admin in admin.site._registry.values() if isinstance(model_admin, UseCaseFormMixin)
    ]

    assert use_case_admins  # the credentials' admin at least
    for model_admin in use_case_admins:
        assert type(model_admin).changeform_view is UseCaseFormMixin.changeform_view, type(model_admin).__name__


def test_a_change_form_post_saves_through_the_use_case_outside_any_atomic_block(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _token = channel_client(Channel.APP, name="App")
    blocks_opened: list[int] = []  # per save: the atomic blocks open besides the test's own
    save_model = admin.site._registry[ChannelClient].save_model

    def watched_save_model(*args: Any, **kwargs: Any) -> None:
        # Only the test's own transaction may be open (a use case may run inside that one).
        blocks_opened.append(sum(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks))
        save_model(*args, **kwargs)

    monkeypatch.setattr(admin.site._registry[ChannelClient], "save_model", watched_save_model)

    response = admin_client.post(
        f"/admin/config/channelclient/{client.pk}/change/",
        {
            "name": "App renamed",
            "reach": Reach.OWN,
            "scopes": [Scope.CATALOG_READ],
            "throttle_rate": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content  # a use case inside an atomic block raises RuntimeError
    assert blocks_opened == [0]
    client.refresh_from_db()
    assert (client.name, client.scopes) == ("App renamed", ["catalog:read"])


def test_an_add_form_post_creates_through_the_use_case(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/config/channelclient/add/", {"name": "Till 7", "channel": Channel.STORE, "throttle_rate": ""}
    )

    assert response.status_code == 302, response.content
    assert ChannelClient.objects.filter(name="Till 7", channel=Channel.STORE).exists()
