"""One outbox row into one message: in its recipient's language, as HTML and plain text, with
their personal page's link and a one-click unsubscribe from that kind of mail.

What a mail says is read when it is sent, not when it was written: a commitment done or moved
in the meantime is not reminded, and an unsubscribe made meanwhile is honoured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from facilitator import exports, i18n, paths
from facilitator.db import Database
from facilitator.db.models import (
    OPTIONAL_KINDS,
    Commitment,
    Group,
    MailOut,
    Meeting,
    Network,
    Person,
    StaffUser,
)
from facilitator.flow import CommitmentStatus
from facilitator.http.words import page_words
from facilitator.localtime import local_day
from facilitator.mail import tags
from facilitator.services import feeds, mail_digest, mail_outbox, personal, state
from facilitator.services.network_settings import link_base

_ENV = Environment(
    loader=FileSystemLoader(str(paths.web() / "templates" / "mail")),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
#: What a dry run shows where a secret link would be.
HIDDEN = "…"


@dataclass(frozen=True)
class Outgoing:
    """Where mail comes from and what its links point to."""

    #: ``FACILITATOR_PUBLIC_URL``; the network's own address when empty.
    base_url: str
    mail_from: str
    #: A dry run issues no links and writes nothing.
    dry_run: bool = False
    #: ``FACILITATOR_BOUNCE_ADDRESS``: bounces come back to it, tagged with the mail's row.
    bounce_address: str = ""
    #: This machine's LAN address, when neither the server nor the network set one.
    lan_url: str = ""


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str | None
    language: str
    person_id: int | None
    staff_user_id: int | None


class Skip(Exception):
    """This mail is not sent, for the reason given (kept with the row)."""


async def compose(db: Database, row: MailOut, out: Outgoing) -> EmailMessage:
    """The message for ``row``; raises ``Skip`` when it should not go."""
    async with db.read() as session:
        network = await session.get_one(Network, row.network_id)
        to = await _recipient(session, row, network)
        if not to.email:
            raise Skip("no address")
        recipient = mail_outbox.recipient_of(to.person_id, to.staff_user_id)
        if row.kind in OPTIONAL_KINDS and await mail_outbox.opted_out(session, recipient, row.kind):
            raise Skip("unsubscribed")
        today = local_day(db.now(), network.timezone)
        context: dict[str, Any] = {
            "network": network.name,
            "kind": row.kind,
            "today": today.isoformat(),
            "recipient": to.name,
            "days": (row.day - today).days,
        }
        if row.kind in ("reminder", "due", "overdue"):
            context.update(await _commitment(session, row))
        elif row.kind == "digest":
            found = await mail_digest.digest(session, network, today)
            if not found["total"]:
                raise Skip("nothing to report")
            context["digest"] = found
    if row.kind == "record":
        assert row.meeting_id is not None
        assert to.person_id is not None
        context.update(await _record(db, row.meeting_id, to.person_id))
    base = link_base(out.base_url, network.public_url, out.lan_url, "http://localhost:8000")
    links = await _links(db, row, to, recipient, base, out.dry_run)
    return _message(row, to, out, context | links, network.name)


async def _recipient(session: Any, row: MailOut, network: Network) -> Recipient:
    if row.person_id is not None:
        person = await session.get_one(Person, row.person_id)
        if person.merged_into_id is not None:  # their records moved there; so does their mail
            person = await session.get_one(Person, person.merged_into_id)
        if person.archived_at is not None:
            return Recipient(person.name, None, network.default_language, person.id, None)
        language = person.language or network.default_language
        return Recipient(person.name, person.email, language, person.id, None)
    user = await session.get_one(StaffUser, row.staff_user_id)
    language = user.language or network.default_language
    return Recipient(user.name, user.email if user.active else None, language, None, user.id)


async def _commitment(session: Any, row: MailOut) -> dict[str, Any]:
    commitment = await session.get_one(Commitment, row.commitment_id)
    # Done, dropped or moved since it was written: nothing to remind of any more.
    if commitment.status != CommitmentStatus.OPEN.value or commitment.due_on != row.day:
        raise Skip("no longer due")
    group = await session.get_one(Group, commitment.group_id)
    meeting = await session.get_one(Meeting, commitment.origin_meeting_id)
    return {
        "commitment": {"text": commitment.text, "due": commitment.due_on.isoformat()},
        "group": group.name,
        "meeting": meeting.title,
    }


async def _record(db: Database, meeting_id: int, person_id: int) -> dict[str, Any]:
    snap = await state.snapshot(db, meeting_id)
    made = [c for c in snap["commitments"] if c["status"] in ("open", "done", "dropped")]
    mine = await feeds.made_at(db, person_id, meeting_id)
    return {
        "snap": snap,
        "made": made,
        "mine": [c for c in made if c["owner"]["id"] == person_id],
        "ics": exports.to_ics(snap["meeting"]["title"], mine, db.now()) if mine else None,
    }


async def _links(
    db: Database, row: MailOut, to: Recipient, recipient: str, base: str, dry_run: bool
) -> dict[str, str | None]:
    """The personal page's link and the unsubscribe link, issued (stored hashed) now."""
    if dry_run:
        page = f"{base}/me/{HIDDEN}" if to.person_id is not None else None
        off = f"{base}/mail/off/{HIDDEN}" if row.kind in OPTIONAL_KINDS else None
        return {"page_url": page, "unsubscribe_url": off, "backbone_url": f"{base}/backbone"}
    page = None
    if to.person_id is not None:
        page = f"{base}/me/{await personal.issue_link(db, to.person_id)}"
    async with db.write() as session:
        off = None
        if row.kind in OPTIONAL_KINDS:
            secret = await mail_outbox.unsubscribe_token(session, recipient, row.kind, db.now())
            off = f"{base}/mail/off/{secret}"
    return {"page_url": page, "unsubscribe_url": off, "backbone_url": f"{base}/backbone"}


def render(kind: str, suffix: str, lang: str, context: dict[str, Any]) -> str:
    template = _ENV.get_template(f"{kind}.{suffix}")
    words = page_words(lang)
    if suffix.endswith("txt"):  # plain text: the words as they are, nothing escaped
        words["t"] = lambda key, **params: i18n.translate(key, lang, **params)
        # In a body, user text is isolated by Unicode's own marks (a mixed-direction sentence
        # stays in order); a subject line gets none (some programs show them as boxes).
        words["bdi"] = (lambda text: f"\u2068{text}\u2069") if suffix == "txt" else str
    return template.render(lang=lang, dir=i18n.direction(lang), **words, **context)


def _message(
    row: MailOut, to: Recipient, out: Outgoing, context: dict[str, Any], network: str
) -> EmailMessage:
    lang = to.language
    message = EmailMessage()
    subject = render(row.kind, "subject.txt", lang, context).strip()
    message["Subject"] = " ".join(subject.split())
    message["From"] = _sender(out.mail_from, network)
    message["To"] = Address(display_name=to.name, addr_spec=str(to.email))
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = tags.message_id(row, _domain(out.mail_from))
    message["Auto-Submitted"] = "auto-generated"  # no vacation replies to it
    message["Content-Language"] = lang
    if context.get("unsubscribe_url"):
        # RFC 8058: the mail program's own "unsubscribe" posts here, with no page to pass.
        message["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render(row.kind, "txt", lang, context))
    message.add_alternative(render(row.kind, "html", lang, context), subtype="html")
    if context.get("ics"):
        # As text with its charset: bytes would go without one, and Hebrew be misread.
        message.add_attachment(
            context["ics"].decode("utf-8"),
            subtype="calendar",
            charset="utf-8",
            cte="base64",
            filename="commitments.ics",
            params={"method": "PUBLISH"},
        )
    return message


def _sender(mail_from: str, network: str) -> Address | str:
    """``FACILITATOR_MAIL_FROM`` as given when it names itself, else the network's name."""
    if "<" in mail_from:
        return mail_from
    return Address(display_name=network, addr_spec=mail_from)


def _domain(mail_from: str) -> str:
    address = mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or "localhost"
