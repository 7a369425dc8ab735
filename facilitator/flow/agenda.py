"""An agenda's limits, the item on screen and its clock, and the order of the items."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from facilitator.errors import Invalid, NotFound, Refused

#: Items one agenda holds at most, and minutes one item may be given.
MAX_AGENDA_ITEMS = 40
MAX_ITEM_MINUTES = 480


def check_agenda_room(count: int, adding: int = 1) -> None:
    """An agenda holds at most ``MAX_AGENDA_ITEMS`` items, however they arrive."""
    if count + adding > MAX_AGENDA_ITEMS:
        raise Invalid("agenda.too_many", limit=MAX_AGENDA_ITEMS)


def check_item_minutes(minutes: object) -> int:
    """An item is given a whole number of minutes, from none to ``MAX_ITEM_MINUTES``."""
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 0 <= minutes <= MAX_ITEM_MINUTES
    ):
        raise Invalid("input.out_of_range", field="minutes", low=0, high=MAX_ITEM_MINUTES)
    return minutes


def check_pause(on_screen: int | None, item_id: int, running: bool) -> None:
    """Pause only the item on screen, and only while its timer runs."""
    if on_screen != item_id:
        raise Refused("agenda.not_on_screen")
    if not running:
        raise Refused("agenda.not_running")


def check_resume(on_screen: int | None, item_id: int, running: bool) -> None:
    """Resume only the item on screen, and only while it is paused."""
    if on_screen != item_id:
        raise Refused("agenda.not_on_screen")
    if running:
        raise Refused("agenda.already_running")


def seconds_run(started: datetime, now: datetime) -> int:
    """Whole seconds a timer ran since ``started`` (never negative, should the clock step back)."""
    return max(0, int((now - started).total_seconds()))


def reorder(order: Sequence[int], item_id: int, position: int) -> list[int]:
    """The agenda's item ids after moving ``item_id`` to ``position`` (1 is the first)."""
    if item_id not in order:
        raise NotFound("agenda.item_not_found")
    if not 1 <= position <= len(order):
        raise Invalid("agenda.bad_position", last=len(order))
    if order.index(item_id) == position - 1:
        raise Refused("agenda.already_there", position=position)
    rest = [i for i in order if i != item_id]
    rest.insert(position - 1, item_id)
    return rest
