"""Who may send a command to a meeting, and the names and attendance a phone stands for.

The services read the facts (one row each) and these rules decide; both write paths (one
command at a time, and the group-commit writer's batches) ask the same questions here.
"""

from __future__ import annotations

from dataclasses import dataclass

from facilitator.errors import Conflict, Forbidden, NotFound, Refused
from facilitator.flow.stages import Action, Role


@dataclass(frozen=True)
class StaffFacts:
    """A staff user as the sender check sees them."""

    network_id: int
    active: bool
    role: str
    #: They look after the meeting's group (what a facilitator's reach is made of).
    looks_after: bool
    #: The session the command came through is not signed out (or none was named).
    signed_in: bool = True


def check_staff(staff: StaffFacts | None, claimed: Role, network_id: int) -> None:
    """An active staff user of this network (``None``: no such user), still in the role their
    session claims, and the group within their reach: the backbone reaches every group of the
    network, a facilitator only the groups they look after."""
    if staff is None or not staff.active or staff.network_id != network_id:
        raise Forbidden("staff.not_in_network")
    if not staff.signed_in:
        raise Forbidden("staff.signed_out")
    if staff.role != claimed.value:
        raise Forbidden("staff.role_changed")
    if staff.role != Role.BACKBONE.value and not staff.looks_after:
        raise Forbidden("scope.not_yours")


@dataclass(frozen=True)
class PhoneFacts:
    """A phone's person as the sender check sees them."""

    #: The person's network; ``None`` when there is no such person.
    network_id: int | None
    #: Their attendance of this meeting is recorded.
    joined: bool


def check_phone(phone: PhoneFacts, network_id: int, action: Action) -> None:
    """A participant is a person of the meeting's network and, for anything but joining, has
    joined it."""
    if phone.network_id is None or phone.network_id != network_id:
        raise Forbidden("participant.unknown")
    if action is not Action.JOIN and not phone.joined:
        raise Forbidden("participant.not_joined")


def check_newcomer(role: Role, action: Action) -> None:
    """A sender who is nobody yet (a phone before its first join) may only join."""
    if action is not Action.JOIN:
        raise Forbidden("role.forbidden", role=role.value, action=action.value)


def check_resend(same_command: bool, same_sender: bool) -> None:
    """A resent message id gets its stored answer only from the sender who sent it, for the
    same command: anyone else reusing it is refused, and the stored answer is never theirs."""
    if not (same_command and same_sender):
        raise Forbidden("input.msg_id_reused")


def check_person_here(person_network: int | None, network_id: int) -> None:
    """A person named by id belongs to the meeting's network (``None``: no such person)."""
    if person_network is None or person_network != network_id:
        raise NotFound("person.not_found")


def check_name_free(held: bool, name: str) -> None:
    """Typing a name claims a person no phone holds yet, never one another phone speaks for:
    that would let anyone act as them."""
    if held:
        raise Refused("join.name_taken", name=name)


def needs_consent(new_phone: bool, known_person: bool) -> bool:
    """A phone without a token becomes a person the network knew before (someone the backbone
    entered, or whose phone let go of them) only when the facilitator accepts it or the person
    uses their own link: anyone can type an absent colleague's name. A name typed for the first
    time is a new person at once."""
    return new_phone and known_person


#: Requests to be a known person that wait for the facilitator at once, per meeting (those whose
#: phone asked within ``WAITING_FRESH_SECONDS``: a phone that left stops counting), and per
#: person: a fourth request for one person replaces the oldest, so that three made up by
#: someone else cannot keep the real person's phone out.
MAX_WAITING_PER_MEETING = 60
MAX_WAITING_PER_PERSON = 3
WAITING_FRESH_SECONDS = 30


def check_room_to_wait(fresh_in_meeting: int) -> None:
    if fresh_in_meeting >= MAX_WAITING_PER_MEETING:
        raise Refused("join.too_many_waiting")


def replaces_oldest(waiting_for_person: int) -> bool:
    """A new request for this person pushes out the oldest one still waiting."""
    return waiting_for_person >= MAX_WAITING_PER_PERSON


def check_claim_open(decided: bool) -> None:
    """A request is accepted or refused once; a second tap (another console) changes nothing."""
    if decided:
        raise Refused("claim.decided")


def check_name_distinct(looks_like: str | None, name: str) -> None:
    """A new name that only looks like one the network knows (another script's letters, a digit
    for a letter) would put two people on screen that no one can tell apart."""
    if looks_like is not None:
        raise Refused("join.name_looks_taken", name=name, other=looks_like)


def check_name_held(held: bool, name: str) -> None:
    """Only a name a phone holds can be released."""
    if not held:
        raise Refused("release.not_held", name=name)


def check_first_join(joined: bool, person_id: int) -> None:
    """A person joins a meeting once; the phone gets its first join back (the error carries the
    person so that it can)."""
    if joined:
        raise Conflict("join.already_joined", person_id=person_id)


def check_mark_present(joined: bool, name: str) -> None:
    """Marking present someone already counted is refused, not counted twice."""
    if joined:
        raise Refused("present.already", name=name)


def check_roster_add(on_roster: bool, name: str) -> None:
    """A guest goes on the group's roster once."""
    if on_roster:
        raise Refused("roster.already", name=name)
