"""A real uvicorn server on a migrated SQLite file, and real WebSocket clients to talk to it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from facilitator.db import Database
from facilitator.db.models import StaffUser
from facilitator.flow import Stage
from facilitator.services import commitments, lifecycle, network, users
from facilitator.services.actors import Actor
from tests.support.ports import free_port

BIN = Path(sys.executable).parent


def local_today() -> str:
    """Today where the seeded network meets (its default time zone)."""
    return datetime.now(ZoneInfo("Asia/Jerusalem")).date().isoformat()


PASSWORD = "a long test password"
Message = dict[str, Any]


@dataclass
class Seeded:
    network: int
    people: list[tuple[int, str, str]]  # id, name, organization
    group: int
    staff_email: str
    carried: int  # an open commitment of people[0], made at a closed earlier meeting


async def seed(db_url: str) -> Seeded:
    db = Database(db_url)
    try:
        nid = await network.create_network(db, "רשת חיה")
        await network.add_value(db, nid, network.ValueWords("שקיפות", ["מחליטים בחדר"]))
        org = await network.add_organization(db, nid, "עמותת גשר", "nonprofit")
        people = []
        for n in range(6):
            name = f"משתתף {n}"
            people.append((await network.add_person(db, nid, name, org), name, "עמותת גשר"))
        group = await network.add_group(db, nid, "קבוצת עבודה", "working_group")
        uid = await users.create_user(
            db, nid, "fac@example.org", PASSWORD, name="מנחה", role="facilitator"
        )
        await network.assign_staff(db, group, uid)
        staff = Actor.staff(uid)
        today = datetime.now(ZoneInfo("Asia/Jerusalem")).date()
        first = (await lifecycle.create_meeting(db, staff, group, "קודמת", today)).event.meeting_id
        await lifecycle.start(db, first, staff)
        for stage in (Stage.OPENER, Stage.AGENDA, Stage.COMMITMENTS):
            await lifecycle.move(db, first, staff, stage)
        made = await commitments.add(
            db, first, staff, "להפיץ נתונים", people[0][0], today + timedelta(days=7)
        )
        await lifecycle.close(db, first, staff)
        return Seeded(nid, people, group, "fac@example.org", made.event.payload["commitment"]["id"])
    finally:
        await db.dispose()


@dataclass
class Server:
    base: str
    ws_base: str
    db_url: str
    seeded: Seeded
    process: subprocess.Popen[str]
    log: Path
    log_file: IO[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def start_server(
    template: str,
    folder: Path,
    *,
    log_level: str = "warning",
    extra_env: dict[str, str] | None = None,
) -> Server:
    db_file = folder / "live.db"
    shutil.copyfile(template, db_file)
    db_url = f"sqlite+aiosqlite:///{db_file}"
    seeded = asyncio.run(seed(db_url))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITATOR_")}
    env["DATABASE_URL"] = db_url
    env["FACILITATOR_LOG_LEVEL"] = log_level
    env.update(extra_env or {})
    log = folder / "server.log"
    log_file = log.open("w")
    process = subprocess.Popen(
        [str(BIN / "facilitator"), "serve", "--port", str(port)],
        env=env,
        cwd=folder,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if process.poll() is not None:
                log_file.close()
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.1)
    return Server(base, f"ws://127.0.0.1:{port}", db_url, seeded, process, log, log_file)


async def staff_client(server: Server) -> httpx.AsyncClient:
    """An HTTP client signed in as the seeded facilitator."""
    client = httpx.AsyncClient(base_url=server.base)
    page = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = await client.post(
        "/login",
        data={"csrf": csrf.group(1), "email": server.seeded.staff_email, "password": PASSWORD},
    )
    assert done.status_code == 303, done.text
    return client


def csrf_of(client: httpx.AsyncClient) -> str:
    return str(client.cookies.get("fac_csrf"))


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def new_meeting(
    server: Server, client: httpx.AsyncClient, title: str = "מפגש חי", group: int | None = None
) -> tuple[int, str, str]:
    """Create a meeting (in a group of its own, so tests never share a live meeting) through
    the staff form; returns its id, join code and view token."""
    if group is None:
        db = Database(server.db_url)
        try:
            group = await network.add_group(db, server.seeded.network, f"קבוצה: {title}", "forum")
            # The seeded facilitator looks after it: a facilitator runs their own groups only.
            async with db.read() as session:
                facilitator = await session.scalar(
                    select(StaffUser.id).where(StaffUser.email == server.seeded.staff_email)
                )
            assert facilitator is not None
            await network.assign_staff(db, group, facilitator)
        finally:
            await db.dispose()
    made = await client.post(
        "/meetings",
        data={
            "csrf": csrf_of(client),
            "group_id": str(group),
            "title": title,
            "scheduled_on": local_today(),
        },
    )
    assert made.status_code == 303, made.text
    meeting_id = int(made.headers["location"].split("/")[2])
    await client.post(
        f"/m/{meeting_id}/agenda",
        data={"csrf": csrf_of(client), "title": "החלטה", "minutes": "10", "kind": "decision"},
    )
    console = await client.get(f"/m/{meeting_id}/console")
    view = re.search(r"view=([A-Za-z0-9_-]+)", console.text)
    snap = (await client.get(f"/api/m/{meeting_id}/snapshot")).json()
    assert view is not None
    return meeting_id, snap["meeting"]["join_code"], view.group(1)


@dataclass
class Client:
    """A WebSocket client that keeps everything it received."""

    ws: ClientConnection
    inbox: list[Message] = field(default_factory=list)
    counter: int = 0

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def next(self, within: float = 5) -> Message:
        message: Message = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        self.inbox.append(message)
        return message

    async def expect(self, match: Callable[[Message], bool], within: float = 5) -> Message:
        deadline = time.monotonic() + within
        for seen in self.inbox:
            if match(seen) and not seen.get("_taken"):
                seen["_taken"] = True
                return seen
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching message; got {self.inbox[-5:]}")
            message = await self.next(left)
            if match(message):
                message["_taken"] = True
                return message

    async def command(self, kind: str, msg_id: str | None = None, **data: Any) -> Message:
        """Send a command and wait for its ack or error."""
        self.counter += 1
        msg_id = msg_id or f"c{self.counter}-{id(self)}"
        await self.send({"type": kind, "id": msg_id, **data})
        return await self.expect(
            lambda m: m.get("type") in ("ack", "error") and m.get("id") == msg_id
        )

    async def event(self, kind: str, within: float = 5) -> Message:
        return await self.expect(lambda m: m.get("type") == "event" and m["event"] == kind, within)

    async def close_code(self, within: float = 10) -> int | None:
        """Read until the server closes the socket; the code it closed with."""
        deadline = time.monotonic() + within
        try:
            while time.monotonic() < deadline:
                await self.next(deadline - time.monotonic())
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        raise TimeoutError("the server kept the socket open")


async def open_client(
    server: Server,
    meeting_id: int,
    face: str,
    hello: Message,
    *,
    cookie: str | None = None,
    origin: str | None = None,
) -> Client:
    headers = {"cookie": cookie} if cookie else {}
    ws = await connect(
        f"{server.ws_base}/ws/m/{meeting_id}?face={face}",
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]
        max_size=4 * 1024 * 1024,
        compression=None,
    )
    client = Client(ws)
    OPEN_CLIENTS.append(client)
    await client.send({"type": "hello", **hello})
    return client


OPEN_CLIENTS: list[Client] = []


async def close_all_clients() -> None:
    """Close every client a test opened, even when the test failed half-way."""
    while OPEN_CLIENTS:
        await OPEN_CLIENTS.pop().ws.close()


async def join_phone(
    server: Server,
    code: str,
    name: str,
    organization: str = "עמותת גשר",
    staff: httpx.AsyncClient | None = None,
) -> tuple[str, Message]:
    """A phone joining by name; someone the network knew is accepted by ``staff`` (or the
    seeded facilitator, signed in once per server)."""
    async with httpx.AsyncClient(base_url=server.base) as client:
        joined = await client.post(
            "/api/join", json={"code": code, "name": name, "organization": organization}
        )
        if joined.status_code == 202:  # someone the network knew: the facilitator accepts
            waiting = joined.json()
            await accept_request(server, waiting["meeting_id"], waiting["waiting"]["number"], staff)
            joined = await client.post("/api/join", json={"code": code, "token": waiting["token"]})
    assert joined.status_code == 200, joined.text
    data = joined.json()
    return data["token"], data["person"]


async def join_known(
    server: Server, meeting_id: int, code: str, name: str, organization: str
) -> httpx.Response:
    """A phone naming a person the network knew before: it waits (202), the facilitator accepts
    the request showing its number on the console, and the phone asking again is in (200)."""
    async with httpx.AsyncClient(base_url=server.base) as phone:
        asked = await phone.post(
            "/api/join", json={"code": code, "name": name, "organization": organization}
        )
        if asked.status_code != 202:
            return asked
        waiting = asked.json()
        assert waiting["meeting_id"] == meeting_id
        await accept_request(server, meeting_id, waiting["waiting"]["number"])
        return await phone.post("/api/join", json={"code": code, "token": waiting["token"]})


_STAFF_COOKIES: dict[str, httpx.Cookies] = {}


async def accept_request(
    server: Server, meeting_id: int, number: int, signed_in: httpx.AsyncClient | None = None
) -> None:
    """The facilitator's tap on the console's request showing ``number``: by ``signed_in``, or
    signed in once per server (a sign-in for every tap would spend the address's limit)."""
    cookies = signed_in.cookies if signed_in is not None else _STAFF_COOKIES.get(server.base)
    if cookies is None:
        signing_in = await staff_client(server)
        cookies = _STAFF_COOKIES[server.base] = signing_in.cookies
        await signing_in.aclose()
    staff = httpx.AsyncClient(base_url=server.base, cookies=cookies)
    try:
        snapshot = (await staff.get(f"/api/m/{meeting_id}/snapshot")).json()
        [claim] = [c for c in snapshot["claims"] if c["number"] == number]
        accepted = await staff.post(
            f"/api/m/{meeting_id}/commands",
            json={"type": "decide_claim", "id": f"accept-{claim['id']}", "claim_id": claim["id"]},
            headers={"x-csrf-token": csrf_of(staff)},
        )
        assert accepted.status_code == 200, accepted.text
    finally:
        await staff.aclose()
