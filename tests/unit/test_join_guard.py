"""The join guard's rules, on its own: addresses as limits see them, guessing counted in distinct
wrong codes, a locked network held at a meeting's door until let in, and the pace of joins by
name per address and per meeting."""

from __future__ import annotations

import time

import pytest

from facilitator.http.join_guard import JoinGuard, address_key
from facilitator.settings import pace, parse_pace


def test_an_address_is_kept_as_its_network() -> None:
    assert address_key("203.0.113.7") == "203.0.113.7"
    # One home or mobile network picks IPv6 addresses from its /64 at will.
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key("testclient") == "testclient"


def test_a_hall_typing_the_same_typo_is_not_locked_out() -> None:
    guard = JoinGuard(wrong_codes=5)
    for _ in range(50):
        guard.wrong("hall", "AAAAAA")
    for code in ("CCCCCC", "DDDDDD", "EEEEEE"):
        guard.wrong("hall", code)
    assert not guard.locked("hall")
    guard.wrong("hall", "FFFFFF")
    assert guard.locked("hall")
    assert not guard.locked("elsewhere")


def test_guesses_are_forgotten_after_the_window() -> None:
    guard = JoinGuard(wrong_codes=2, wrong_window=0.05)
    guard.wrong("a", "AAAAAA")
    guard.wrong("a", "CCCCCC")
    assert guard.locked("a")
    time.sleep(0.06)
    assert not guard.locked("a")


def test_a_held_network_is_let_in_to_that_meeting_only() -> None:
    guard = JoinGuard(wrong_codes=1)
    guard.wrong("venue", "AAAAAA")
    assert guard.hold("venue", 7, "CCCCCC")
    assert not guard.hold("venue", 7, "CCCCCC")  # held once, however many phones knock
    guard.hold("other", 7, "CCCCCC")
    assert guard.held(7) == 2
    assert guard.held(8) == 0
    assert not guard.admitted("venue", "CCCCCC")
    assert guard.let_in(7) == 2
    assert guard.held(7) == 0
    assert guard.admitted("venue", "CCCCCC")
    assert not guard.admitted("venue", "DDDDDD")
    assert guard.locked("venue")  # still locked for every other code


def test_joins_by_name_keep_a_pace_per_address_and_per_meeting() -> None:
    guard = JoinGuard(address_burst=3, address_rate=1, meeting_burst=5, meeting_rate=0.5)
    assert [guard.wait_for_name("a", 1) for _ in range(3)] == [0, 0, 0]
    wait = guard.wait_for_name("a", 1)
    assert 0 < wait <= 1
    # Another address still joins, until the meeting's own pace is spent.
    assert [guard.wait_for_name("b", 1) for _ in range(2)] == [0, 0]
    assert guard.wait_for_name("c", 1) > 1  # the meeting refills at one every two seconds
    # Another meeting is not this one, and the refused try spent nothing of c's three.
    assert [guard.wait_for_name("c", 2) for _ in range(3)] == [0, 0, 0]
    assert guard.wait_for_name("c", 2) > 0


def test_a_pace_is_read_as_at_once_and_per_minute() -> None:
    assert parse_pace("60/30") == (60.0, 0.5)
    assert pace(" 5/6 ") == "5/6"
    for wrong in ("60", "0/5", "a/b", "5/0", "-1/5"):
        with pytest.raises(ValueError, match="at once/per minute"):
            pace(wrong)


def test_an_ipv6_site_is_locked_as_a_whole_too() -> None:
    """A /48 holds 65,536 /64s: guessing from many of them locks the site."""
    guard = JoinGuard(wrong_codes=3)
    subnets = [address_key(f"2001:db8:7:{n:x}::1") for n in range(6)]
    for n, subnet in enumerate(subnets[:5]):
        for k in range(2):  # under each /64's own limit
            guard.wrong(subnet, f"C{n}{k}AAA")
    assert not guard.locked(subnets[0])
    guard.wrong(subnets[5], "DDDDDD")
    guard.wrong(subnets[5], "EEEEEE")  # the site's twelfth
    assert guard.locked(address_key("2001:db8:7:ffff::1"))
    assert not guard.locked(address_key("2001:db8:8::1"))


def test_a_flood_of_addresses_does_not_wash_a_lock_away() -> None:
    guard = JoinGuard(wrong_codes=2, max_keys=50)
    guard.wrong("guesser", "AAAAAA")
    guard.wrong("guesser", "CCCCCC")
    for n in range(500):
        guard.wrong(f"flood-{n}", "AAAAAA")
    assert guard.locked("guesser")
    assert len(guard._wrong) <= 50


def test_a_locked_address_costs_bounded_memory() -> None:
    guard = JoinGuard(wrong_codes=5)
    for n in range(1000):
        guard.wrong("guesser", f"{n:06d}")
    assert guard.locked("guesser")
    assert len(guard._wrong["guesser"]) == 5


def test_a_network_no_longer_locked_is_no_longer_held() -> None:
    guard = JoinGuard(wrong_codes=1, wrong_window=0.05)
    guard.wrong("venue", "AAAAAA")
    guard.hold("venue", 7, "CCCCCC")
    assert guard.held(7) == 1
    time.sleep(0.06)
    assert not guard.locked("venue")
    assert guard.held(7) == 0
