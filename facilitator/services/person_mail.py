"""Staff send a person the link to their own page by mail: one row in the outbox, written with
its audit entry, at most one a day (the outbox's key is the person and the day)."""

from __future__ import annotations

from facilitator.db import Database
from facilitator.db.models import Network
from facilitator.errors import Conflict
from facilitator.localtime import local_day
from facilitator.services import audit, mail_outbox
from facilitator.services.mail_outbox import Mail
from facilitator.services.people import person_in


async def send_link(db: Database, network_id: int, user_id: int | None, person_id: int) -> str:
    """Write the mail that takes this person a new link to their page; the address it goes to.
    Refused for a person with no address, archived or merged, and when one is on its way or
    went today already.
    """
    async with db.write() as session:
        found = await person_in(session, network_id, person_id)
        if found.merged_into_id is not None:
            raise Conflict("person.merged")
        if found.archived_at is not None:
            raise Conflict("admin.people.link_archived")
        if not found.email:
            raise Conflict("admin.people.link_no_email")
        network = await session.get_one(Network, network_id)
        now = db.now()
        today = local_day(now, network.timezone)
        mail = Mail(network_id, "link", f"person:{found.id}", today, person_id=found.id)
        # Once a day; a link that failed or was skipped today may be sent again.
        written = await mail_outbox.put(session, [mail], now)
        if not written and not await mail_outbox.again(session, mail, now):
            raise Conflict("admin.people.link_sent_today")
        audit.record(
            session, network_id, user_id, "person.send_link", "person", found.id,
            after={"email": found.email}, at=now,
        )  # fmt: skip
        return found.email
