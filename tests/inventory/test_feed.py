"""The change feed: a channel that polls with the cursor never misses nor double-counts a change."""

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from config.roles import Role
from inventory.feed import FEED_PAGE, START, FeedCursor, stock_changes_after
from inventory.models import Location
from inventory.services import StockLine, stock_receive, stock_reserve
from tests.factories import LocationFactory, VariantFactory, staff_with_role, stock_receive_for

CHANGES = "/api/v1/inventory/changes/"


def poll_all(api: APIClient, after: str = "", limit: int = 2, expect: int = 1) -> tuple[list[dict[str, Any]], str]:
    """Poll as a channel does until `expect` changes came. The feed waits for every older
    transaction in the database cluster to finish, so a parallel test run can delay it a moment."""
    seen: list[dict[str, Any]] = []
    cursor = after
    deadline = time.monotonic() + 30
    while len(seen) < expect and time.monotonic() < deadline:
        params = {"after": cursor, "limit": str(limit)} if cursor else {"limit": str(limit)}
        page = api.get(CHANGES, params).json()
        seen += page["changes"]
        cursor = page["next"]
        if not page["has_more"] and len(seen) < expect:
            time.sleep(0.1)
    return seen, cursor


# Feed tests commit for real: the feed only shows committed transactions' movements.
@pytest.mark.django_db(transaction=True)
def test_feed_pages_through_every_movement_once_in_order(api: APIClient) -> None:
    store = LocationFactory.create(code="MAD")
    variants = [VariantFactory.create(sku=f"S{i}") for i in range(5)]
    for variant in variants:
        stock_receive_for(store, variant, 3)

    changes, _ = poll_all(api, limit=2, expect=5)

    assert [c["sku"] for c in changes] == ["S0", "S1", "S2", "S3", "S4"]
    assert {c["on_hand_change"] for c in changes} == {3}
    assert len({c["cursor"] for c in changes}) == 5


@pytest.mark.django_db(transaction=True)
def test_polling_again_from_the_cursor_gets_only_new_changes(api: APIClient) -> None:
    store = LocationFactory.create(code="MAD")
    variant = VariantFactory.create(sku="TEE")
    stock_receive_for(store, variant, 3)
    first, cursor = poll_all(api)

    stock_receive_for(store, variant, 2)
    second, _ = poll_all(api, after=cursor)

    assert [c["on_hand_change"] for c in first] == [3]
    assert [c["on_hand_change"] for c in second] == [2]
    assert second[0]["on_hand"] == 5


def order_reserved_at_the_store() -> None:
    """Three T-shirts received, one of them reserved for the order ORDER-1234 (committed)."""
    store, variant = LocationFactory.create(code="MAD"), VariantFactory.create(sku="TEE")
    stock_receive(location=store, lines=[(variant, 3)], reference="ALB-1")
    stock_reserve(lines=[StockLine(store, variant, 1)], reference="ORDER-1234")


@pytest.mark.django_db(transaction=True)
def test_channels_do_not_see_order_numbers_in_the_feed(api: APIClient) -> None:
    # Every channel reads the feed: one channel's order numbers are not another's business.
    order_reserved_at_the_store()

    changes, _ = poll_all(api, expect=2)

    assert [(c["kind"], c["reserved_change"], c["reference"]) for c in changes] == [
        ("receipt", 0, ""),
        ("reservation", 1, ""),
    ]
    assert "ORDER-1234" not in str(changes)


def staff_feed(user: Any, expect: int) -> list[str]:
    staff = APIClient()
    staff.force_login(user)
    changes, _ = poll_all(staff, expect=expect)
    return [c["reference"] for c in changes]


@pytest.mark.django_db(transaction=True)
def test_managers_see_the_references_in_the_feed(staff_user: Any) -> None:
    order_reserved_at_the_store()

    assert staff_feed(staff_user, expect=2) == ["ALB-1", "ORDER-1234"]


@pytest.mark.django_db(transaction=True)
def test_store_staff_see_the_references_of_their_store_only() -> None:
    order_reserved_at_the_store()  # at MAD
    barcelona = LocationFactory.create(code="BCN")
    stock_receive(location=barcelona, lines=[(VariantFactory.create(sku="BOOT"), 2)], reference="ALB-BCN")

    madrid_staff = staff_with_role(Role.STORE_STAFF, Location.objects.get(code="MAD"))
    barcelona_staff = staff_with_role(Role.STORE_STAFF, barcelona)

    assert staff_feed(madrid_staff, expect=3) == ["ALB-1", "ORDER-1234", ""]
    assert staff_feed(barcelona_staff, expect=3) == ["", "", "ALB-BCN"]


@pytest.mark.django_db
def test_an_empty_poll_keeps_the_cursor(api: APIClient) -> None:
    page = api.get(CHANGES, {"after": "0-0"}).json()
    assert page == {"changes": [], "next": "0-0", "has_more": False}


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["abc", "1", "-1-2", "1-2-3"])
def test_malformed_cursor_is_400(api: APIClient, cursor: str) -> None:
    response = api.get(CHANGES, {"after": cursor})
    assert response.status_code == 400
    assert "after" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_feed_needs_a_token(anonymous_api: APIClient) -> None:
    assert anonymous_api.get(CHANGES).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_movement_that_commits_late_is_not_skipped() -> None:
    # Transaction A writes first (lower id) but commits last. A poller that read B's change
    # before A committed must still get A's change afterwards.
    store = LocationFactory.create(code="MAD")
    early, late = VariantFactory.create(sku="EARLY"), VariantFactory.create(sku="LATE")
    written, release = threading.Event(), threading.Event()

    def slow_transaction() -> None:
        try:
            with transaction.atomic():  # a slow use case: the receipt's work, then a wait before commit
                stock_receive.step(location=store, lines=[(early, 1)], reference="A")
                written.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_transaction)
    thread.start()
    assert written.wait(timeout=20)
    stock_receive(location=store, lines=[(late, 1)], reference="B")  # commits first

    seen_before, cursor = stock_changes_after(after=START)
    assert "LATE" not in [c["sku"] for c in seen_before]  # held back: an older transaction is still open
    release.set()
    thread.join(timeout=20)
    seen_after: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(seen_before) + len(seen_after) < 2 and time.monotonic() < deadline:
        page, cursor = stock_changes_after(after=cursor)
        seen_after += page
        time.sleep(0.05)

    seen = [c["sku"] for c in seen_before + seen_after]
    assert sorted(seen) == ["EARLY", "LATE"]
    assert len(seen) == len(set(seen))


@pytest.mark.django_db
def test_an_uncommitted_change_is_not_shown_yet() -> None:
    # This test's transaction is still open: its own movement waits until it commits.
    stock_receive_for(LocationFactory.create(code="MAD"), VariantFactory.create(sku="TEE"), 1)
    changes, cursor = stock_changes_after(after=START)
    assert (changes, cursor) == ([], START)


def test_cursors_order_by_transaction_then_movement() -> None:
    assert FeedCursor(5, 1) > FeedCursor(4, 99)
    assert str(FeedCursor.parse("12-34")) == "12-34"


@pytest.mark.django_db(transaction=True)
def test_feed_queries_do_not_grow_with_changes(staff_user: Any) -> None:
    store = LocationFactory.create(code="MAD")
    staff = APIClient()
    staff.force_login(staff_user)

    def queries_for_whole_feed(expect: int) -> int:
        poll_all(staff, limit=FEED_PAGE, expect=expect)  # every change is settled and shown
        with CaptureQueriesContext(connection) as queries:
            assert len(staff.get(CHANGES, {"after": "0-0"}).json()["changes"]) == expect
        return len(queries)

    stock_receive(location=store, lines=[(VariantFactory.create(), 1)])
    few = queries_for_whole_feed(expect=1)
    stock_receive(location=store, lines=[(VariantFactory.create(), 1) for _n in range(20)])

    assert queries_for_whole_feed(expect=21) == few
