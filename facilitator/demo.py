"""A demo network in Hebrew, built through the real services, so that its history is real:
two past meetings of one working group left commitments in every state, and the group's next
meeting waits in the lobby. Start it and the carry-over is there."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from facilitator.db import Database
from facilitator.db.models import Group, GroupMember, MailOut, Network, Person, StrategyGroup
from facilitator.flow import Stage
from facilitator.localtime import local_day
from facilitator.services import (
    commitments,
    joining,
    lifecycle,
    network,
    opener,
    personal,
    state,
    users,
)
from facilitator.services.actors import Actor
from facilitator.services.agenda import AgendaItemInput
from facilitator.services.network import ValueWords
from facilitator.services.setup import STARTER_VALUES


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str


BACKBONE_EMAIL = "backbone@demo.example"
FACILITATOR_EMAIL = "facilitator@demo.example"


# Each value in Hebrew and in English: the wall in either language shows it in its own. The
# set-up page's starter values, but the community's voice as this education network puts it.
def _starter(title_he: str) -> ValueWords:
    [value] = [v for v in STARTER_VALUES if v.title_he == title_he]
    return ValueWords(
        value.title_he, list(value.behaviours_he), value.title_en, list(value.behaviours_en)
    )


VALUES = (
    _starter("שקיפות"),
    _starter("אחריותיות"),
    ValueWords(
        "קול הקהילה",
        [
            "נציגי הורים ובני נוער יושבים בכל קבוצת עבודה",
            "בודקים כל החלטה מול מי שהיא משפיעה עליו",
        ],
        "Community voice",
        [
            "Parents and young people sit in every working group",
            "We test every decision with the people it affects",
        ],
    ),
    _starter("אמון וכבוד הדדי"),
)

ORGANIZATIONS = (
    ("משרד החינוך – מחוז דרום", "government"),
    ("עיריית באר שבע – אגף החינוך", "government"),
    ("עמותת צעדים לנוער", "nonprofit"),
    ("מרכז הלמידה הקהילתי", "nonprofit"),
    ("נגב טק בע״מ", "business"),
    ("קרן שורשים", "philanthropy"),
    ("ועד ההורים העירוני", "community"),
    ("מועצת הנוער העירונית", "community"),
    ("עתיד משותף – ארגון השדרה", "backbone"),
)

PEOPLE = (
    ("מיכל לוי", 0),
    ("יוסף אבו-סבית", 1),
    ("נועה כהן", 2),
    ("אברהם ביטון", 3),
    ("Daniel Green", 4),
    ("רחל אוחיון", 5),
    ("סמאח אלעוברה", 6),
    ("איתי פרץ", 7),
    ("דנה שמעוני", 8),
    ("עומר חדד", 2),
)


def _at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tz).astimezone(UTC)


async def has_network(db: Database) -> bool:
    async with db.read() as session:
        return await session.scalar(select(Network.id).limit(1)) is not None


async def load(db: Database) -> list[DemoLogin]:
    """Build the demo network; returns the staff logins it made (passwords are random)."""
    real_clock = db.clock
    tz = ZoneInfo("Asia/Jerusalem")
    today = local_day(real_clock(), tz.key)
    first_day, second_day = today - timedelta(days=56), today - timedelta(days=28)
    db.clock = lambda: _at(first_day, 9, tz) - timedelta(days=7)
    try:
        nid = await network.create_network(db, "עתיד משותף – רשת לצמצום נשירה בנגב")
        for words in VALUES:
            await network.add_value(db, nid, words)
        orgs = [await network.add_organization(db, nid, n, s) for n, s in ORGANIZATIONS]
        people = [await network.add_person(db, nid, n, orgs[o]) for n, o in PEOPLE]
        await _contacts(db, people)
        steering = await network.add_group(db, nid, "ועדת ההיגוי", "steering_committee")
        transition = await network.add_group(db, nid, "קבוצת עבודה: המעבר לתיכון", "working_group")
        parents = await network.add_group(db, nid, "קבוצת עבודה: מעורבות הורים", "working_group")
        # Who each group expects: its roster, offered first to a phone that joins.
        await _roster(db, steering, [people[i] for i in (0, 1, 5, 8)])
        await _roster(db, transition, [people[i] for i in (0, 1, 2, 3, 4, 5, 6, 7, 9)])
        await _roster(db, parents, [people[i] for i in (0, 3, 6, 7, 9)])
        dropout = await network.add_strategy(
            db, nid, "צמצום נשירה בכיתה ט׳", "ירידה מ-8% ל-5% נושרים עד סוף 2027"
        )
        mentoring = await network.add_strategy(
            db, nid, "חונכות אישית בשנה הראשונה בתיכון", "300 תלמידים עם חונך עד יוני"
        )
        await _carry(
            db,
            {steering: PURPOSES[0], transition: PURPOSES[1], parents: PURPOSES[2]},
            [(dropout, steering), (dropout, transition), (mentoring, transition)],
        )
        logins = [
            DemoLogin(BACKBONE_EMAIL, secrets.token_urlsafe(9), "backbone"),
            DemoLogin(FACILITATOR_EMAIL, secrets.token_urlsafe(9), "facilitator"),
        ]
        names = {"backbone": "דנה שמעוני", "facilitator": "נועה כהן"}
        ids = [
            await users.create_user(
                db, nid, login.email, login.password, name=names[login.role], role=login.role
            )
            for login in logins
        ]
        staff = Actor.staff(ids[1], "facilitator")
        for group in (transition, parents):
            await network.assign_staff(db, group, ids[1])

        # First meeting of the working group: eight weeks ago, six commitments. It runs on its
        # own day, so every page shows it on one date.
        db.clock = lambda: _at(first_day, 9, tz)
        first = await _meeting(
            db, staff, transition, "מפגש פתיחה: מיפוי נקודות הנשירה", first_day, dropout
        )
        await _walk_to_commitments(db, first, staff, people[:6])
        made = [
            await _commit(db, first, staff, text, people[i], first_day + timedelta(days=d), dropout)
            for text, i, d in (
                ("להעביר נתוני נשירה לפי בית ספר לכל השותפים", 0, 14),
                ("למפות את תכניות החונכות הקיימות בעיר", 2, 21),
                ("לקיים שיחת היכרות עם מועצת הנוער על המעבר לתיכון", 7, 21),
                ("לגייס שלושה מתנדבים מהחברה לחונכות", 4, 28),
                ("להציג לקרן הצעה לפיילוט חונכות", 5, 35),
                ("לבנות טופס משוב להורים על המעבר לתיכון", 6, 24),
            )
        ]
        await lifecycle.close(db, first, staff)

        # Second meeting: four weeks ago. Every carried commitment gets a different fate.
        db.clock = lambda: _at(second_day, 9, tz)
        second = await _meeting(
            db, staff, transition, "מפגש מעקב: חונכות ונתונים", second_day, mentoring
        )
        await lifecycle.start(db, second, staff)
        for pid in people[:5] + people[6:8]:
            await joining.join(db, second, person_id=pid)
        outcomes = (
            ("done", None, None),
            ("on_track", None, None),
            ("slipped", second_day + timedelta(days=10), None),
            ("dropped", None, "החברה הפנתה את המתנדבים לפרויקט אחר; נחפש שותף עסקי נוסף"),
            ("slipped", second_day + timedelta(days=42), None),
            ("on_track", None, None),
        )
        for cid, (outcome, new_due, reason) in zip(made, outcomes, strict=True):
            await commitments.review(
                db, second, staff, cid, outcome, new_due=new_due, reason=reason
            )
        await _opener(db, second, staff, people[:5] + people[6:8])
        for stage in (Stage.AGENDA, Stage.COMMITMENTS):
            await lifecycle.move(db, second, staff, stage)
        await _commit(
            db,
            second,
            staff,
            "לשלוח לבתי הספר מסמך עקרונות לחונכות",
            people[1],
            second_day + timedelta(days=14),
            mentoring,
        )
        await _commit(
            db,
            second,
            staff,
            "לתאם מפגש הורים ראשון בשכונה ד׳",
            people[6],
            second_day + timedelta(days=45),
            None,
        )
        await lifecycle.close(db, second, staff)

        # Another group's open commitment: it must never show up in the working group's review.
        # The backbone runs the steering committee: the facilitator does not look after it.
        chair = Actor.staff(ids[0], "backbone")
        db.clock = lambda: _at(second_day + timedelta(days=3), 9, tz)
        board = await _meeting(
            db, chair, steering, "ועדת היגוי רבעונית", second_day + timedelta(days=3), dropout
        )
        await _walk_to_commitments(db, board, chair, [people[0], people[5], people[8]])
        await _commit(
            db,
            board,
            chair,
            "לאשר תקציב לפיילוט החונכות",
            people[5],
            second_day + timedelta(days=60),
            mentoring,
        )
        # Due in two days: inside the reminder window, so `remind` has a reminder to send.
        await _commit(
            db,
            board,
            chair,
            "להפיץ לשותפים את טיוטת דוח הנשירה השנתי",
            people[0],
            today + timedelta(days=2),
            dropout,
        )
        await lifecycle.close(db, board, chair)

        # Between meetings, owners reported from their own pages: the next review starts there.
        db.clock = lambda: _at(today - timedelta(days=5), 20, tz)
        await personal.report(
            db, people[5], made[4], "stuck", "הקרן ביקשה נתוני עלות לכל תלמיד; צריך עזרה מהעירייה"
        )
        await personal.report(db, people[6], made[5], "done", "הטופס נשלח לשלושה בתי ספר")
    finally:
        db.clock = real_clock
    await _mail_history(db, people[3], second)

    # The group's next meeting: today, waiting in the lobby.
    await lifecycle.create_meeting(
        db,
        staff,
        transition,
        "מפגש קבוצת העבודה: המעבר לתיכון",
        today,
        [
            AgendaItemInput("נתוני הנשירה המעודכנים", 15, "update", dropout),
            AgendaItemInput("מודל החונכות: בחירה בין שתי חלופות", 30, "decision", mentoring),
            AgendaItemInput("איך מביאים יותר קול של הורים לקבוצה", 20, "discussion", None),
        ],
    )
    return logins


async def _meeting(
    db: Database, staff: Actor, group: int, title: str, day: date, strategy: int
) -> int:
    result = await lifecycle.create_meeting(
        db,
        staff,
        group,
        title,
        day,
        [
            AgendaItemInput("עדכונים מהשותפים", 10, "update", None),
            AgendaItemInput("החלטה על צעדים להמשך", 30, "decision", strategy),
        ],
    )
    return int(result.event.meeting_id)


async def _walk_to_commitments(db: Database, meeting: int, staff: Actor, people: list[int]) -> None:
    await lifecycle.start(db, meeting, staff)
    for pid in people:
        await joining.join(db, meeting, person_id=pid)
    await _opener(db, meeting, staff, people)
    for stage in (Stage.AGENDA, Stage.COMMITMENTS):
        await lifecycle.move(db, meeting, staff, stage)


async def _opener(db: Database, meeting: int, staff: Actor, people: list[int]) -> None:
    """Everyone present flags a few blockers, so the opener has a history to show."""
    await lifecycle.move(db, meeting, staff, Stage.OPENER)
    snapshot = await state.snapshot(db, meeting)
    blockers = [b["id"] for b in snapshot["blockers"]]
    for n, pid in enumerate(people):
        picks = [blockers[(n + k * 3) % len(blockers)] for k in range(1 + n % 3)]
        await opener.respond(db, meeting, Actor.participant(pid), sorted(set(picks)))
    top = blockers[4]  # more talk than action
    await opener.record_action(
        db, meeting, staff, top, "כל נושא בסדר היום מסתיים בהחלטה או במחויבות"
    )


async def _commit(
    db: Database, meeting: int, staff: Actor, text: str, owner: int, due: date, strategy: int | None
) -> int:
    result = await commitments.add(db, meeting, staff, text, owner, due, strategy)
    return int(result.event.payload["commitment"]["id"])


PURPOSES = (
    "מתווה את האסטרטגיה של הרשת, מקצה משאבים ועוקב אחר ההתקדמות מול היעדים",
    "לוודא שכל תלמיד בסיכון עובר מכיתה ח׳ לט׳ עם מבוגר משמעותי לצידו",
    "להביא את קולם של ההורים לכל החלטה של הרשת ולבנות מעורבות הורים בבתי הספר",
)


async def _carry(db: Database, purposes: dict[int, str], carried: list[tuple[int, int]]) -> None:
    """Each group's purpose, and which groups carry which strategy."""
    async with db.write() as session:
        for group_id, purpose in purposes.items():
            group = await session.get_one(Group, group_id)
            group.purpose = purpose
        session.add_all(StrategyGroup(strategy_id=s, group_id=g) for s, g in carried)


async def _contacts(db: Database, people: list[int]) -> None:
    """Addresses for the mail between meetings (``.example`` is reserved: nothing arrives);
    the one English speaker gets English mail."""
    async with db.write() as session:
        for n, person_id in enumerate(people, start=1):
            person = await session.get_one(Person, person_id)
            person.email = f"person{n}@demo.example"
            if person.name == "Daniel Green":
                person.language = "en"


async def _mail_history(db: Database, returned_to: int, in_meeting: int) -> None:
    """The meetings' records went out minutes after each close, and one came back (a mistyped
    address), so the backbone's page shows mail as a network sees it."""
    async with db.write() as session:
        rows = await session.scalars(select(MailOut).where(MailOut.kind == "record"))
        for row in rows:
            person = await session.get_one(Person, row.person_id)
            row.state, row.attempts, row.address = "sent", 1, person.email
            row.sent_at = row.created_at + timedelta(minutes=2)
            if row.person_id == returned_to and row.meeting_id == in_meeting:
                row.state, row.bounced_at = "bounced", row.sent_at + timedelta(minutes=1)
                row.error = (f"5.1.1 smtp; 550 5.1.1 <{person.email}>: Recipient address "
                             "rejected: User unknown in virtual mailbox table")  # fmt: skip


async def _roster(db: Database, group: int, people: list[int]) -> None:
    async with db.write() as session:
        session.add_all(
            GroupMember(group_id=group, person_id=pid, added_at=db.now()) for pid in people
        )
