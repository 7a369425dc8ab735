"""Generated attacks on the meeting flow: any sequence of commands, from any role, on a real
migrated SQLite file (a Hypothesis state machine). Whatever is refused, these always hold: no
meeting closes without a commitment made in it; no carried commitment is reviewed twice in a
meeting, nor one that was not carried into it; the event log numbers without gaps; and only
staff move, start, close or confirm."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import text

from facilitator.db import Database
from facilitator.errors import DomainError
from facilitator.flow import STAGES, Outcome
from facilitator.live import messages as m
from facilitator.live.dispatch import execute
from facilitator.services import joining, lifecycle
from facilitator.services.actors import Actor
from tests.support.meetings import add, new_meeting, run_to_commitments
from tests.support.world import POSTGRES, TODAY, Clock, build_world

pytestmark = pytest.mark.skipif(bool(POSTGRES), reason="runs on its own SQLite files")

DAY2 = TODAY + timedelta(days=21)
DUES = st.sampled_from([DAY2, DAY2 + timedelta(days=14), TODAY - timedelta(days=3)])
IDS = st.integers(min_value=1, max_value=12)  # commitments, people, items: real ones and not
TEXTS = st.sampled_from(["לגייס מתנדבים", "x" * 10, " ", ""])


def commands(blockers: list[int]) -> st.SearchStrategy[m.Command]:
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

    def _run(self, command: m.Command, sender: Actor) -> None:
        # Refused, with a reason: what matters is what holds afterwards.
        with contextlib.suppress(DomainError):
            self.loop.run_until_complete(execute(self.db, self.meeting, sender, command))

    @rule(data=st.data(), who=st.integers(min_value=0, max_value=8))
    def send(self, data: st.DataObject, who: int) -> None:
        self._run(data.draw(commands(self.blockers)), self.senders[who])

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
        steering = self._rows(
            "SELECT actor FROM meeting_events WHERE meeting_id = :m AND type IN"
            " ('stage_changed', 'commitment_confirmed', 'commitment_rejected',"
            " 'meeting_cancelled')"
        )
        assert all(str(actor).startswith("user:") for (actor,) in steering), steering


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
