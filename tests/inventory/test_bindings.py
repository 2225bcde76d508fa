"""Devices and tills are bound to the locations they work at (`Location.channel_clients`)."""

from typing import Any

import pytest

from config.channels import Channel
from inventory.selectors import location_ids_bound_to_client
from tests.factories import LocationFactory, channel_client

pytestmark = pytest.mark.django_db


def test_a_till_is_bound_to_its_store_only() -> None:
    madrid, barcelona = LocationFactory.create(code="MAD"), LocationFactory.create(code="BCN")
    till, _token = channel_client(Channel.STORE, locations=[madrid])
    channel_client(Channel.STORE, locations=[barcelona])  # another store's till

    assert location_ids_bound_to_client(client=till) == {madrid.pk}


def test_a_locker_client_is_bound_to_every_locker_bank_it_runs() -> None:
    atocha = LocationFactory.create(code="LOCKER-ATOCHA", kind="locker")
    sants = LocationFactory.create(code="LOCKER-SANTS", kind="locker")
    LocationFactory.create(code="LOCKER-OTHER", kind="locker")
    lockers, _token = channel_client(Channel.LOCKER, locations=[atocha, sants])

    assert location_ids_bound_to_client(client=lockers) == {atocha.pk, sants.pk}


def test_a_client_bound_nowhere_works_at_no_location() -> None:
    LocationFactory.create(code="MAD").channel_clients.add(channel_client(Channel.LOCKER)[0])
    web, _token = channel_client(Channel.WEB)

    assert location_ids_bound_to_client(client=web) == set()


def test_bound_locations_are_read_in_one_query(django_assert_num_queries: Any) -> None:
    stores = [LocationFactory.create(code=f"S{i}") for i in range(5)]
    till, _token = channel_client(Channel.STORE, locations=stores)

    with django_assert_num_queries(1):
        assert len(location_ids_bound_to_client(client=till)) == 5
