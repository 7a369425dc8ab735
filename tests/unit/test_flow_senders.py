"""Who may send a command to a meeting, and the names and attendance a phone stands for: the
rules both write paths ask, fed plain facts. No I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest

from facilitator import flow
from facilitator.errors import Conflict, Forbidden, NotFound, Refused
from facilitator.flow import Action, PhoneFacts, Role, StaffFacts

NET, OTHER = 1, 2


MINE = StaffFacts(network_id=NET, active=True, role="facilitator", looks_after=True)


def staff(**change: object) -> StaffFacts:
    return replace(MINE, **change)


def test_staff_of_the_network_within_reach_pass() -> None:
    flow.check_staff(staff(), Role.FACILITATOR, NET)
    # The backbone reaches every group of its network without looking after it.
    flow.check_staff(staff(role="backbone", looks_after=False), Role.BACKBONE, NET)


@pytest.mark.parametrize(
    ("facts", "claimed", "key"),
    [
        (None, Role.FACILITATOR, "staff.not_in_network"),
        (staff(active=False), Role.FACILITATOR, "staff.not_in_network"),
        (staff(network_id=OTHER), Role.FACILITATOR, "staff.not_in_network"),
        # The session says backbone; the user has since been made a facilitator.
        (staff(), Role.BACKBONE, "staff.role_changed"),
        (staff(looks_after=False), Role.FACILITATOR, "scope.not_yours"),
        # Signed out in another process, whose word to close this socket never came.
        (staff(signed_in=False), Role.FACILITATOR, "staff.signed_out"),
    ],
)
def test_staff_refusals(facts: StaffFacts | None, claimed: Role, key: str) -> None:
    with pytest.raises(Forbidden) as refused:
        flow.check_staff(facts, claimed, NET)
    assert refused.value.key == key


def test_refusals_come_in_order_the_network_first() -> None:
    # Of another network, inactive and out of reach at once: the network is what it says.
    with pytest.raises(Forbidden) as refused:
        flow.check_staff(
            staff(network_id=OTHER, active=False, looks_after=False), Role.BACKBONE, NET
        )
    assert refused.value.key == "staff.not_in_network"


@pytest.mark.parametrize("action", [a for a in Action if a is not Action.JOIN])
def test_a_phone_acts_only_once_joined(action: Action) -> None:
    flow.check_phone(PhoneFacts(NET, joined=True), NET, action)
    with pytest.raises(Forbidden) as refused:
        flow.check_phone(PhoneFacts(NET, joined=False), NET, action)
    assert refused.value.key == "participant.not_joined"


def test_a_phone_joins_before_it_has_joined() -> None:
    flow.check_phone(PhoneFacts(NET, joined=False), NET, Action.JOIN)


@pytest.mark.parametrize("person_network", [None, OTHER])
@pytest.mark.parametrize("joined", [False, True])
def test_a_person_of_another_network_or_none_is_unknown(
    person_network: int | None, joined: bool
) -> None:
    for action in (Action.JOIN, Action.RESPOND_OPENER):
        with pytest.raises(Forbidden) as refused:
            flow.check_phone(PhoneFacts(person_network, joined), NET, action)
        assert refused.value.key == "participant.unknown"


def test_a_sender_who_is_nobody_yet_may_only_join() -> None:
    flow.check_newcomer(Role.PARTICIPANT, Action.JOIN)
    with pytest.raises(Forbidden) as refused:
        flow.check_newcomer(Role.PROJECTOR, Action.RESPOND_OPENER)
    assert (refused.value.key, refused.value.params) == (
        "role.forbidden",
        {"role": "projector", "action": "respond_opener"},
    )


def test_a_person_named_by_id_is_of_this_network() -> None:
    flow.check_person_here(NET, NET)
    for network in (None, OTHER):
        with pytest.raises(NotFound) as missing:
            flow.check_person_here(network, NET)
        assert missing.value.key == "person.not_found"


def test_a_name_a_phone_holds_is_not_claimed_and_only_a_held_one_is_released() -> None:
    flow.check_name_free(False, "Dana")
    flow.check_name_held(True, "Dana")
    with pytest.raises(Refused) as taken:
        flow.check_name_free(True, "Dana")
    assert (taken.value.key, taken.value.params) == ("join.name_taken", {"name": "Dana"})
    with pytest.raises(Refused) as free:
        flow.check_name_held(False, "Dana")
    assert (free.value.key, free.value.params) == ("release.not_held", {"name": "Dana"})


def test_a_new_name_that_only_looks_like_one_here_is_refused() -> None:
    flow.check_name_distinct(None, "Dana")
    with pytest.raises(Refused) as alike:
        flow.check_name_distinct("Dana", "D\u0430na")
    assert (alike.value.key, alike.value.params) == (
        "join.name_looks_taken",
        {"name": "D\u0430na", "other": "Dana"},
    )


def test_joining_twice_carries_the_person_back() -> None:
    flow.check_first_join(False, 7)
    with pytest.raises(Conflict) as twice:
        flow.check_first_join(True, 7)
    assert (twice.value.key, twice.value.params) == ("join.already_joined", {"person_id": 7})


def test_marked_present_and_put_on_the_roster_once() -> None:
    flow.check_mark_present(False, "Dana")
    flow.check_roster_add(False, "Dana")
    with pytest.raises(Refused) as present:
        flow.check_mark_present(True, "Dana")
    assert present.value.key == "present.already"
    with pytest.raises(Refused) as roster:
        flow.check_roster_add(True, "Dana")
    assert roster.value.key == "roster.already"


def test_a_resent_message_id_answers_only_its_sender_and_command() -> None:
    flow.check_resend(same_command=True, same_sender=True)
    for same_command, same_sender in ((True, False), (False, True), (False, False)):
        with pytest.raises(Forbidden) as reused:
            flow.check_resend(same_command, same_sender)
        assert reused.value.key == "input.msg_id_reused"


def test_a_known_person_needs_consent_only_from_a_phone_without_a_token() -> None:
    assert flow.needs_consent(new_phone=True, known_person=True)
    assert not flow.needs_consent(new_phone=True, known_person=False)  # a name typed first
    assert not flow.needs_consent(new_phone=False, known_person=True)  # their own phone


def test_requests_to_be_someone_are_bounded() -> None:
    flow.check_room_to_wait(flow.MAX_WAITING_PER_MEETING - 1)
    with pytest.raises(Refused) as refused:
        flow.check_room_to_wait(flow.MAX_WAITING_PER_MEETING)
    assert refused.value.key == "join.too_many_waiting"
    # Per person: the fourth pushes the oldest out, so made-up requests can't lock one out.
    assert not flow.replaces_oldest(flow.MAX_WAITING_PER_PERSON - 1)
    assert flow.replaces_oldest(flow.MAX_WAITING_PER_PERSON)


def test_a_request_is_decided_once() -> None:
    flow.check_claim_open(decided=False)
    with pytest.raises(Refused) as refused:
        flow.check_claim_open(decided=True)
    assert refused.value.key == "claim.decided"
