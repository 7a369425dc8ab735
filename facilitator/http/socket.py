"""The WebSocket: one per screen. A receiver handles what the screen sends; a sender drains the
screen's queue, so one slow phone never holds up the room."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from facilitator import i18n
from facilitator.errors import DomainError, Invalid
from facilitator.flow import Role
from facilitator.http.common import AppState, app_state, error_text
from facilitator.http.identity import Who, budget_of, sender_of, sockets_of, who_is
from facilitator.http.security import origin_allowed
from facilitator.http.server_hooks import ABORT, DIRECT, ServerHooks
from facilitator.live import messages
from facilitator.live.dispatch import execute
from facilitator.live.envelope import ack_for
from facilitator.live.messages import encode
from facilitator.live.outbox import RESYNC, Connection
from facilitator.live.room import Room
from facilitator.logs import fields
from facilitator.services import state

# ServerHooks is the app's outermost middleware; it stays importable from here.
__all__ = ["ServerHooks", "live_socket"]

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
TOO_MANY_SOCKETS = 4429  # not 1008: the phone tries again later, once its stale sockets end
STRIKES_BEFORE_CLOSE = 20  # messages over budget before the flood is cut off (1008)


async def live_socket(websocket: WebSocket) -> None:
    st = app_state(websocket)
    meeting_id: int = websocket.path_params["meeting_id"]
    face = websocket.query_params.get("face", "")
    if not origin_allowed(websocket, st.settings.public_url):
        await websocket.close(code=1008)  # before accept: the browser sees a refused upgrade
        return
    await websocket.accept()
    lang = i18n.DEFAULT_LANGUAGE
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT)
        hello = messages.parse(raw)
        if not isinstance(hello, messages.Hello):
            raise Invalid("msg.hello_first")
    except (TimeoutError, WebSocketDisconnect, KeyError):
        await _close(websocket, 1008)
        return
    except DomainError as error:
        await websocket.send_text(encode(_error(None, error, lang)))
        await _close(websocket, 1008)
        return
    asked = hello.lang
    lang = asked if asked in i18n.LANGUAGES else lang
    recognised = time.monotonic()  # a name released from here on stops this socket
    who = await who_is(websocket, meeting_id, face, token=hello.token, view=hello.view)
    if who is None:
        refusal = messages.Error(None, "auth.required", i18n.translate("auth.required", lang))
        await websocket.send_text(encode(refusal))
        await _close(websocket, 4401)
        return
    sender = sender_of(who, meeting_id)
    # Opening a socket spends from the sender's budget too: thirty at once buy nothing.
    if not st.budgets.take(sender, *budget_of(who)):
        await websocket.send_text(encode(_error(None, DomainError("msg.rate_limited"), lang)))
        await _close(websocket, TOO_MANY_SOCKETS)
        return
    if not st.budgets.open_socket(sender, sockets_of(who)):
        refused = _error(None, DomainError("msg.too_many_sockets"), lang)
        await websocket.send_text(encode(refused))
        await _close(websocket, TOO_MANY_SOCKETS)
        return
    try:
        await _in_the_room(websocket, st, meeting_id, lang, who, hello.last_seq, recognised)
    finally:
        st.budgets.close_socket(sender)


async def _in_the_room(
    websocket: WebSocket,
    st: AppState,
    meeting_id: int,
    lang: str,
    who: Who,
    last_seq: int | None,
    recognised: float,
) -> None:
    connection = Connection(
        who.role, who.actor, lang, session_id=who.session_id, abort=websocket.scope.get(ABORT)
    )
    connection.opened_at = recognised
    room = await st.live.enter(meeting_id, connection)
    if who.role is Role.PARTICIPANT and st.live.released_since(who.actor.person_id, recognised):
        # Released while this phone's token was being checked: it missed the sign-out.
        await st.live.leave(room, connection)
        refused = _error(None, DomainError("join.token_unknown"), lang)
        await websocket.send_text(encode(refused))
        await _close(websocket, 4401)
        return
    try:
        # The welcome is the biggest message: a phone that stops reading during it is stuck too.
        connection.sending_since = time.monotonic()
        await _welcome(websocket, room, connection, who, last_seq)
        connection.sending_since = None
        await _serve(websocket, meeting_id, room, connection, who)
    except WebSocketDisconnect:
        pass
    finally:
        await st.live.leave(room, connection)
        if connection.closing is not None:
            await _close(websocket, connection.closing)


async def _serve(
    websocket: WebSocket, meeting_id: int, room: Room, connection: Connection, who: Who
) -> None:
    """Receive on this task, send on one other: two tasks a socket. Whichever half stops first
    (the screen left, a send failed, the server closed it) ends both: a screen never keeps
    commanding while deaf, or listening while mute."""
    receiver = asyncio.current_task()
    assert receiver is not None
    sender = asyncio.create_task(_send_loop(websocket, room, connection, who))
    connection.direct = websocket.scope.get(DIRECT)  # the welcome is out: later ones may go now
    if connection.abort is None:

        def stop_sending() -> None:  # no transport to drop: at least stop sending to it
            sender.cancel()

        connection.abort = stop_sending

    def sender_stopped(_task: asyncio.Task[None]) -> None:
        if not receiving_done:
            receiver.cancel()

    receiving_done = False
    sender.add_done_callback(sender_stopped)
    try:
        await _receive_loop(websocket, meeting_id, connection, who)
    except asyncio.CancelledError:
        # Ours (the sender stopped) is taken back; any other (the server shutting down) stands.
        if not sender.done() or receiver.uncancel() > 0:
            raise
    finally:
        receiving_done = True
        if not sender.done():
            sender.cancel()
        await asyncio.wait({sender})
    failure = None if sender.cancelled() else sender.exception()
    if failure is not None and not isinstance(failure, WebSocketDisconnect):
        log.error("live socket failed", exc_info=failure)
        if not connection.is_closing():
            connection.closing = 1011


async def _close(websocket: WebSocket, code: int) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=code)


async def _welcome(
    websocket: WebSocket, room: Room, connection: Connection, who: Who, last_seq: int | None
) -> None:
    """A fresh snapshot, or, for a screen that was here a moment ago, only what it missed."""
    phone = who.role is Role.PARTICIPANT
    missed = room.catch_up(last_seq, phone) if isinstance(last_seq, int) else None
    me = who.me if who.me is not None else await _me(websocket, who, room.meeting_id)
    if missed is not None and last_seq is not None:
        welcome = messages.Welcome(who.role, me, None, seq=last_seq)
        await websocket.send_text(encode(welcome))
        for text in missed:
            await websocket.send_text(text)
        return
    for text in await _fresh(websocket, room, who, me):
        await websocket.send_text(text)


async def _fresh(
    websocket: WebSocket, room: Room, who: Who, me: dict[str, object] | None
) -> list[str]:
    """A welcome with the room's shared, already encoded snapshot spliced in (a phone's
    without what phones never draw), then the events that came after that snapshot, and for
    a console or a wall the newest tally (a shared snapshot's may be many answers old)."""
    db = app_state(websocket).db
    phone = who.role is Role.PARTICIPANT
    snapshot, after = await room.fresh(phone, lambda: state.snapshot(db, room.meeting_id))
    tally = [] if phone or room.tally_text is None else [room.tally_text]
    return [messages.welcome_text(who.role, me, snapshot), *after, *tally]


async def _me(websocket: WebSocket, who: Who, meeting_id: int) -> dict[str, object] | None:
    if who.actor.person_id is None:
        return None
    return await state.me(app_state(websocket).db, meeting_id, who.actor.person_id)


async def _send_loop(websocket: WebSocket, room: Room, connection: Connection, who: Who) -> None:
    while True:
        text = await connection.queue.get()
        connection.busy = True
        if text is RESYNC:
            if connection.closing is not None:
                await _close(websocket, connection.closing)
                return
            # It fell behind: everything it missed is replaced by one fresh snapshot.
            me = await _me(websocket, who, room.meeting_id)
            *texts, text = await _fresh(websocket, room, who, me)
            if connection.is_closing():  # signed out while the snapshot was read
                await _close(websocket, connection.closing or 1000)
                return
            connection.sending_since = time.monotonic()
            for earlier in texts:
                await websocket.send_text(earlier)
        # A send waits only while the phone's buffer is full; the room drops a phone that
        # stays stuck here (Room._drop_hopeless).
        connection.sending_since = time.monotonic()
        await websocket.send_text(text)
        connection.sending_since = None
        connection.busy = False


async def _receive_loop(
    websocket: WebSocket, meeting_id: int, connection: Connection, who: Who
) -> None:
    st = app_state(websocket)
    # One budget per sender, shared with its other sockets and the HTTP API.
    sender, (rate, burst) = sender_of(who, meeting_id), budget_of(who)
    strikes = 0
    while not connection.is_closing():
        message = await websocket.receive()
        if connection.is_closing():
            return  # closed by the server (logout) while this message was on its way
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        raw = message.get("text") if message.get("text") is not None else message.get("bytes")
        if raw is None:
            continue
        if len(raw) > messages.MAX_MESSAGE_BYTES:
            connection.close(1009, drop_queued=False)
            return
        if not st.budgets.take(sender, rate, burst):
            strikes += 1
            if strikes >= STRIKES_BEFORE_CLOSE:
                connection.close(1008, drop_queued=False)
                return
            connection.offer(encode(_error(None, DomainError("msg.rate_limited"), connection.lang)))
            continue
        strikes = 0
        await _handle(raw, meeting_id, connection, who, st)


async def _handle(
    raw: str | bytes, meeting_id: int, connection: Connection, who: Who, app: AppState
) -> None:
    msg_id = kind = None
    try:
        parsed = messages.parse(raw)
        msg_id, kind = parsed.id, parsed.type
        if isinstance(parsed, messages.Ping):
            connection.offer(messages.PONG)
            return
        if not isinstance(parsed, messages.Command):
            raise Invalid("msg.unknown_type", type=parsed.type)
        if connection.role is Role.PARTICIPANT and app.live.released_since(
            connection.actor.person_id, connection.opened_at
        ):
            # Its name was released after this socket was opened (in another meeting, say).
            connection.offer(
                encode(_error(msg_id, DomainError("join.token_unknown"), connection.lang))
            )
            connection.close(4401, drop_queued=False)
            return
        result = await app.live.commit_and_tell(execute(app.db, meeting_id, who.actor, parsed))
    except DomainError as error:
        said = fields(command=kind, role=connection.role.value, key=error.key)
        log.info("command refused", extra=said)
        connection.offer(encode(_error(msg_id, error, connection.lang)))
        return
    except Exception:
        # The room keeps serving: the sender hears that nothing was changed.
        log.exception("command failed", extra=fields(command=kind, role=connection.role.value))
        connection.offer(encode(_error(msg_id, DomainError("server.error"), connection.lang)))
        return
    phone = connection.role is Role.PARTICIPANT
    connection.offer(encode(ack_for(msg_id, result.event, result.replayed, phone)))


def _error(msg_id: str | None, error: DomainError, lang: str) -> messages.Error:
    message, details = error_text(error, lang)
    return messages.Error(msg_id, error.key, message, details or [])
