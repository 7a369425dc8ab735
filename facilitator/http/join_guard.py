"""Who may try a join code, and how fast new names may arrive.

A hall behind one venue address shares it, so guessing is counted in *distinct wrong codes* per
address: a hall's typos are few and repeat, a guesser's are many and new. An address that
guessed too many is locked: every code it tries gets the same answer (no oracle), at most a few
a minute are even looked up, and one that names an open meeting's right code is *held* there and
shown on that meeting's console, where the facilitator lets it in. A join by name (a phone with
no token: a new person, or a request to be someone) spends from two buckets, the address's and
the meeting's, so a script cannot fill the network with people; a refused phone is told when to
try again and does so by itself.

In process memory, like every limiter here (a second process gets its own: issue #15).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

from facilitator.http.security import RateLimiter, TokenBucket
from facilitator.settings import Settings, parse_pace


def address_key(host: str) -> str:
    """The address a limit is kept for: an IPv6 host by its /64 (one home or phone network
    holds a whole /64 and picks addresses from it at will), an IPv4-mapped one as IPv4."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def wider_key(address: str) -> str | None:
    """The site an IPv6 /64 belongs to (its /48): one holder has 65,536 /64s to guess from."""
    if address.endswith("/64"):
        return str(ipaddress.ip_network(address).supernet(new_prefix=48))
    return None


_PER_ADDRESS = parse_pace(Settings.name_joins_per_address)
_PER_MEETING = parse_pace(Settings.name_joins_per_meeting)

#: How many more distinct wrong codes a whole /48 may try than one of its /64s.
WIDER_FACTOR = 4


@dataclass
class JoinGuard:
    """The limits of every join path: the phone page, the join API, suggestions and the roster."""

    #: Distinct wrong codes from one address within ``wrong_window`` seconds that lock it.
    wrong_codes: int = 30
    wrong_window: float = 600.0
    #: Joins by name: per address and per meeting, a burst and a rate per second (the
    #: settings' defaults unless given).
    address_burst: float = _PER_ADDRESS[0]
    address_rate: float = _PER_ADDRESS[1]
    meeting_burst: float = _PER_MEETING[0]
    meeting_rate: float = _PER_MEETING[1]
    max_keys: int = 10_000
    #: Address (or IPv6 site) -> its distinct wrong codes -> when last tried; at most as many
    #: as lock it (the oldest gives way), so an address costs bounded memory.
    _wrong: dict[str, dict[str, float]] = field(default_factory=dict)
    _locked_lookups: RateLimiter = field(default_factory=lambda: RateLimiter(10, 60))
    #: Meeting -> address held at its door -> the code it typed and when it last knocked.
    _held: dict[int, dict[str, tuple[str, float]]] = field(default_factory=dict)
    #: Address -> the codes it was let in with (each one meeting's).
    _let_in: dict[str, set[str]] = field(default_factory=dict)
    _addresses: dict[str, TokenBucket] = field(default_factory=dict)
    _meetings: dict[int, TokenBucket] = field(default_factory=dict)

    # --- guessing -------------------------------------------------------------------------------

    def locked(self, address: str) -> bool:
        """Whether this address (or its IPv6 site) guessed too many codes lately."""
        wider = wider_key(address)
        return self._count(address) >= self.wrong_codes or (
            wider is not None and self._count(wider) >= self.wrong_codes * WIDER_FACTOR
        )

    def _count(self, key: str) -> int:
        codes = self._wrong.get(key)
        if not codes:
            return 0
        now = time.monotonic()
        for code in [c for c, at in codes.items() if now - at > self.wrong_window]:
            del codes[code]
        return len(codes)

    def may_look_up(self, address: str) -> bool:
        """A locked address's tries are looked up a few times a minute only (each costs a read)."""
        return self._locked_lookups.allow(address)

    def wrong(self, address: str, code: str) -> None:
        """A well-formed code that leads nowhere; the same typo twice counts once."""
        wider = wider_key(address)
        self._record(address, code, self.wrong_codes)
        if wider is not None:
            self._record(wider, code, self.wrong_codes * WIDER_FACTOR)

    def _record(self, key: str, code: str, cap: int) -> None:
        if key not in self._wrong and len(self._wrong) >= self.max_keys:
            self._forget_old_guesses()
        codes = self._wrong.setdefault(key, {})
        if code not in codes and len(codes) >= cap:
            del codes[min(codes, key=codes.__getitem__)]  # still locked: the window moves on
        codes[code] = time.monotonic()

    def admitted(self, address: str, code: str) -> bool:
        """The facilitator let this address in with this code, though it is locked: its tries
        of it are looked up at once."""
        return code in self._let_in.get(address, ())

    def hold(self, address: str, meeting_id: int, code: str) -> bool:
        """A locked address named this meeting's right code: it waits for the facilitator.
        ``True`` when it is newly held (the console's count changed)."""
        held = self._held.setdefault(meeting_id, {})
        new = address not in held
        if new and len(held) >= 1000:
            return False
        held[address] = (code, time.monotonic())
        return new

    def held(self, meeting_id: int) -> int:
        """How many addresses wait to be let in to this meeting: those that knocked while
        locked lately (a lock that lapsed lets its phones in by itself)."""
        held = self._held.get(meeting_id)
        if not held:
            return 0
        now = time.monotonic()
        for address in [a for a, (_code, at) in held.items() if now - at > self.wrong_window]:
            del held[address]
        return len(held)

    def let_in(self, meeting_id: int) -> int:
        """The facilitator's tap: every address held at this meeting may join it (its wrong
        codes still count, and it stays locked for every other code)."""
        self.held(meeting_id)
        held = self._held.pop(meeting_id, {})
        for address, (code, _at) in held.items():
            self._let_in.setdefault(address, set()).add(code)
        return len(held)

    def _forget_old_guesses(self) -> None:
        """Room for a new address: the stale go first, then the least recent that are not
        locked; a lock is the last thing a flood of addresses may wash away."""
        now = time.monotonic()
        for key in [
            k
            for k, codes in self._wrong.items()
            if not codes or all(now - t > self.wrong_window for t in codes.values())
        ]:
            del self._wrong[key]
        if len(self._wrong) < self.max_keys:
            return
        by_age = sorted(self._wrong, key=lambda k: max(self._wrong[k].values()))
        unlocked = [k for k in by_age if len(self._wrong[k]) < self.wrong_codes]
        for key in (unlocked + by_age)[: max(1, self.max_keys // 10)]:
            self._wrong.pop(key, None)

    # --- new names ------------------------------------------------------------------------------

    def wait_for_name(self, address: str, meeting_id: int) -> float:
        """Seconds a join by name must wait (0: it goes now, and is counted)."""
        if address not in self._addresses and len(self._addresses) >= self.max_keys:
            self._addresses.clear()  # forgotten: a full burst again, as if new
        if meeting_id not in self._meetings and len(self._meetings) >= self.max_keys:
            self._meetings.clear()
        mine = self._addresses.setdefault(
            address, TokenBucket(self.address_rate, self.address_burst)
        )
        room = self._meetings.setdefault(
            meeting_id, TokenBucket(self.meeting_rate, self.meeting_burst)
        )
        wait = max(mine.wait(), room.wait())
        if wait == 0:
            mine.spend()
            room.spend()
        return wait
