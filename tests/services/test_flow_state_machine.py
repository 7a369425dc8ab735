"""Generated attacks on the meeting flow: any sequence of every kind of command, from any role,
sent once or resent with the same message id, on a real migrated SQLite file (a Hypothesis state
machine). Whatever is refused, these always hold: no meeting closes without a commitment made
in it; no carried commitment is reviewed twice in a meeting, nor one that was not carried into
it; the event log numbers without gaps; a resent command changes nothing; an agenda stays
within its cap and its items' minutes within theirs; and only staff steer (stages, the agenda,
confirmations, names, the roster, the next meeting)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import text

from facilitator.db import Database
from facilitator.errors import DomainError
from facilitator.flow import STAGES, Outcome
from facilitator.flow.agenda import MAX_AGENDA_ITEMS, MAX_ITEM_MINUTES
from facilitator.live import messages as m
from facilitator.live.dispatch import execute
from facilitator.services import joining, lifecycle
from facilitator.services.actors import Actor
from tests.support.meetings import add, new_meeting, run_to_commitments
from tests.support.world import POSTGRES, TODAY, Clock, build_world

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite files")

DAY2 = TODAY + timedelta(days=21)
#: Events only staff cause.
STAFF_ONLY = (
    "stage_changed", "opener_action", "agenda_item_added", "agenda_item_updated",
    "agenda_item_removed", "agenda_item_moved", "agenda_focus", "agenda_timer",
    "decision_recorded", "commitment_added", "commitment_confirmed", "commitment_rejected",
    "commitment_withdrawn", "meeting_closed", "meeting_cancelled", "next_meeting_scheduled",
    "name_released", "marked_present", "roster_added", "claim_refused",
)  # fmt: skip
DUES = st.sampled_from([DAY2, DAY2 + timedelta(days=14), TODAY - timedelta(days=3)])
IDS = st.integers(min_value=1, max_value=12)  # commitments, people, items: real ones and not
TEXTS = st.sampled_from(["לגייס מתנדבים", "x" * 10, " ", ""])


MAYBE_TEXT = st.one_of(st.none(), TEXTS)
MINUTES = st.sampled_from([0, 15, 480, 481, -5])


def commands(blockers: list[int]) -> st.SearchStrategy[m.Command]:
    return st.one_of(
        _steering(blockers),
        _agenda(),
        st.builds(m.EditCommitment, commitment_id=IDS, text=MAYBE_TEXT,
                  owner_id=st.one_of(st.none(), IDS), due=st.one_of(st.none(), DUES)),
        st.builds(m.ReleaseName, person_id=IDS),
        st.builds(m.MarkPresent, person_id=IDS),
        st.builds(m.DecideClaim, claim_id=IDS, accept=st.booleans()),
        st.builds(m.AddToRoster, person_id=IDS),
        st.builds(m.ScheduleNext, title=TEXTS, scheduled_on=DUES,
                  starts_at=st.sampled_from([None, "18:00", "25:99"]),
                  copy_agenda=st.one_of(st.none(), st.booleans())),
    )  # fmt: skip


def _agenda() -> st.SearchStrategy[m.Command]:
    return st.one_of(
        st.builds(m.AddAgendaItem, title=TEXTS, minutes=MINUTES,
                  strategy_id=st.one_of(st.none(), IDS)),
        st.builds(m.UpdateAgendaItem, item_id=IDS, title=TEXTS, minutes=MINUTES),
        st.builds(m.RemoveAgendaItem, item_id=IDS),
        st.builds(m.MoveAgendaItem, item_id=IDS, position=st.integers(min_value=-1, max_value=9)),
        st.builds(m.FocusItem, item_id=st.one_of(st.none(), IDS)),
        st.builds(m.PauseItem, item_id=IDS),
        st.builds(m.ResumeItem, item_id=IDS),
        st.builds(m.RecordDecision, item_id=IDS, text=MAYBE_TEXT),
        st.builds(m.RecordOpenerAction, blocker_id=IDS, text=MAYBE_TEXT),
    )  # fmt: skip


def _steering(blockers: list[int]) -> st.SearchStrategy[m.Command]:
    return st.one_of(
        st.builds(m.Start),
        st.builds(m.Move, stage=st.sampled_from([s.value for s in STAGES])),
        st.builds(m.Close),
        st.builds(m.Cancel),
        st.builds(
            m.RespondOpener,
            blockers=st.lists(st.sampled_from([*blockers, 999]), max_size=3, unique=True),
        ),
        st.builds(m.Propose, text=TEXTS, due=DUES),
        st.builds(m.AddCommitment, text=TEXTS, owner_id=IDS, due=DUES),
        st.builds(m.Confirm, commitment_id=IDS, accept=st.sampled_from([None, True, False])),
        st.builds(m.WithdrawCommitment, commitment_id=IDS, reason=st.just("שינוי")),
        st.builds(
            m.Review,
            commitment_id=IDS,
            outcome=st.sampled_from([o.value for o in Outcome]),
            new_due=st.one_of(st.none(), DUES),
            reason=st.one_of(st.none(), st.just("לא הספקנו")),
        ),
    )


class MeetingMachine(RuleBasedStateMachine):
    template = ""  # the migrated database to copy, set by the test

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.folder = Path(tempfile.mkdtemp(prefix="flow-machine-"))
        path = self.folder / "flow.db"
        shutil.copyfile(self.template, path)
        self.clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
        self.clock.set_day(TODAY)
        self.db = Database(f"sqlite+aiosqlite:///{path}", clock=self.clock)
        self.loop.run_until_complete(self._set_up())

    async def _set_up(self) -> None:
        """A first meeting closed with three commitments; the group's next one, not started."""
        self.world = world = await build_world(self.db)
        people = world.people
        first = await new_meeting(self.db, world)
        await run_to_commitments(self.db, world, first, people[:3])
        self.carried = [
            await add(self.db, world, first, f"C{i}", people[i], TODAY + timedelta(days=7))
            for i in range(3)
        ]
        await lifecycle.close(self.db, first, world.staff)
        self.clock.set_day(DAY2)
        self.meeting = await new_meeting(self.db, world, day=DAY2)
        async with self.db.read() as session:
            self.blockers = list(
                (await session.execute(text("SELECT id FROM blockers ORDER BY id"))).scalars()
            )
        self.sent = 0
        self.taken: list[tuple[m.Command, Actor]] = []
        self.senders = [
            world.staff,
            world.backbone,
            Actor.projector(),
            *(Actor.participant(p) for p in people),
        ]

    def teardown(self) -> None:
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, command: m.Command, sender: Actor) -> bool:
        """Whether it was taken; refused, with a reason: what matters is what holds after."""
        try:
            self.loop.run_until_complete(execute(self.db, self.meeting, sender, command))
        except DomainError:
            return False
        return True

    @rule(data=st.data(), who=st.integers(min_value=0, max_value=8))
    def send(self, data: st.DataObject, who: int) -> None:
        self.sent += 1
        command = msgspec.structs.replace(data.draw(commands(self.blockers)), id=f"m{self.sent}")
        if self._run(command, self.senders[who]):
            self.taken.append((command, self.senders[who]))

    @rule(stage=st.sampled_from([None, *(s.value for s in STAGES)]))
    def staff_steers(self, stage: str | None) -> None:
        """Start, and move between stages, often: most commands mean something in one stage."""
        self.sent += 1
        command = (
            m.Start(id=f"m{self.sent}")
            if stage is None
            else m.Move(id=f"m{self.sent}", stage=stage)
        )
        if self._run(command, self.world.staff):
            self.taken.append((command, self.world.staff))

    @rule(data=st.data())
    def resend(self, data: st.DataObject) -> None:
        """A phone on bad Wi-Fi sends again what was already taken: nothing changes."""
        if not self.taken:
            return
        command, sender = data.draw(st.sampled_from(self.taken))
        before = self._rows("SELECT count(*) FROM meeting_events WHERE meeting_id = :m")
        self._run(command, sender)
        assert self._rows("SELECT count(*) FROM meeting_events WHERE meeting_id = :m") == before

    @rule(who=st.integers(min_value=0, max_value=5))
    def join(self, who: int) -> None:
        person = self.world.people[who]
        with contextlib.suppress(DomainError):
            self.loop.run_until_complete(joining.join(self.db, self.meeting, person_id=person))

    def _rows(self, sql: str) -> list[tuple[object, ...]]:
        async def read() -> list[tuple[object, ...]]:
            async with self.db.read() as session:
                return [tuple(r) for r in (await session.execute(text(sql), self._facts))]

        return self.loop.run_until_complete(read())

    @property
    def _facts(self) -> dict[str, object]:
        return {"m": self.meeting}

    @invariant()
    def the_log_numbers_without_gaps(self) -> None:
        seqs = [s for (s,) in self._rows("SELECT seq FROM meeting_events WHERE meeting_id = :m")]
        assert sorted(seqs) == list(range(1, len(seqs) + 1))

    @invariant()
    def no_close_without_a_commitment_made_here(self) -> None:
        # A meeting called off closes with nothing made: that is what calling off is.
        (closed,) = self._rows(
            "SELECT closed_at IS NOT NULL AND cancelled_at IS NULL FROM meetings WHERE id = :m"
        )[0]
        made = self._rows(
            "SELECT count(*) FROM commitments WHERE origin_meeting_id = :m"
            " AND status IN ('open', 'done', 'dropped')"
        )[0][0]
        assert not closed or made >= 1

    @invariant()
    def reviews_only_of_what_was_carried_once_each(self) -> None:
        reviewed = [
            c
            for (c,) in self._rows(
                "SELECT commitment_id FROM commitment_reviews WHERE meeting_id = :m"
            )
        ]
        assert len(reviewed) == len(set(reviewed))
        assert set(reviewed) <= set(self.carried)

    @invariant()
    def only_staff_steer(self) -> None:
        listed = ", ".join(f"'{kind}'" for kind in STAFF_ONLY)
        steering = self._rows(
            f"SELECT actor FROM meeting_events WHERE meeting_id = :m AND type IN ({listed})"
        )
        assert all(str(actor).startswith("user:") for (actor,) in steering), steering

    @invariant()
    def the_agenda_stays_within_its_caps(self) -> None:
        items = self._rows(
            "SELECT count(*), coalesce(max(minutes), 0), coalesce(min(minutes), 0)"
            " FROM agenda_items WHERE meeting_id = :m"
        )[0]
        count, longest, shortest = (int(str(v)) for v in items)
        assert count <= MAX_AGENDA_ITEMS
        assert 0 <= shortest <= longest <= MAX_ITEM_MINUTES


def test_any_sequence_of_commands_from_anyone_keeps_the_flow_whole(migrated_template: str) -> None:
    MeetingMachine.template = migrated_template
    run_state_machine_as_test(
        MeetingMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
