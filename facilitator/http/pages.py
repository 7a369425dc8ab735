"""Staff pages (home, meeting preparation) and the three live faces' shells."""

from __future__ import annotations

from typing import Any

import segno
from starlette.requests import Request
from starlette.responses import Response

from facilitator import i18n, joincodes
from facilitator.errors import DomainError, NotFound
from facilitator.http.auth import form_or_none, login_redirect
from facilitator.http.common import (
    app_state,
    current_staff,
    language,
    public_base,
    redirect,
    refused,
    render,
)
from facilitator.http.guard import Caller, staff_page
from facilitator.http.join_door import meeting_for_code
from facilitator.services import agenda, lifecycle, overview, state
from facilitator.services.access import StaffIdentity
from facilitator.services.agenda import AgendaItemInput
from facilitator.services.network import default_language
from facilitator.services.scope import reaches_meeting
from facilitator.validate import id_in


def _int(value: str | None) -> int | None:
    """A form's whole number in ASCII digits (an id, minutes, a place), or ``None``."""
    return id_in(value)


def _path_id(request: Request, name: str = "meeting_id") -> int:
    value: int = request.path_params[name]
    return value


@staff_page()
async def home(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    db = app_state(request).db
    data = await overview.network_overview(db, caller.scope)
    return render(
        request,
        "home.html",
        lang,
        staff=staff,
        overview=data,
        lists=await overview.network_lists(db, staff.network_id),
        error=request.query_params.get("error"),
    )


@staff_page()
async def new_meeting(request: Request, caller: Caller) -> Response:
    staff = caller.staff
    fields = await form_or_none(request)
    if fields is None:
        return redirect("/?error=auth.csrf")
    try:
        result = await lifecycle.create_meeting(
            app_state(request).db,
            staff.actor,
            _int(fields.get("group_id")) or 0,
            fields.get("title", ""),
            fields.get("scheduled_on", ""),
            starts_at=fields.get("starts_at"),
            place=fields.get("place"),
            client_msg_id=fields.get("client_msg_id") or None,
        )
    except DomainError as error:
        return refused(request, "/", error)
    return redirect(f"/m/{result.event.meeting_id}/edit")


async def _meeting_for_staff(request: Request, staff: StaffIdentity) -> int:
    meeting_id = _path_id(request)
    if not await reaches_meeting(
        app_state(request).db, staff.network_id, staff.user_id, staff.role, meeting_id
    ):
        raise NotFound("meeting.not_found")
    return meeting_id


@staff_page()
async def edit_meeting(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    db = app_state(request).db
    try:
        meeting_id = await _meeting_for_staff(request, staff)
    except DomainError:
        return render(request, "not_found.html", lang, 404, staff=staff)
    return render(
        request,
        "edit_meeting.html",
        lang,
        staff=staff,
        snap=await state.snapshot(db, meeting_id),
        lists=await overview.network_lists(db, staff.network_id),
        error=request.query_params.get("error"),
    )


def _item_from(fields: dict[str, str]) -> AgendaItemInput:
    minutes = _int(fields.get("minutes"))
    return AgendaItemInput(
        fields.get("title", ""),
        minutes if minutes is not None else -1,
        fields.get("kind", "discussion"),
        _int(fields.get("strategy_id")),
        fields.get("presenter"),
    )


async def _meeting_form(
    request: Request, staff: StaffIdentity
) -> tuple[int, dict[str, str], str] | Response:
    """The rest of the prologue of every form on a meeting's preparation page: a meeting within
    the staff's reach, a valid form (CSRF); returns the meeting, the fields and the page to go
    back to."""
    try:
        meeting_id = await _meeting_for_staff(request, staff)
    except DomainError:
        return redirect("/")
    back = f"/m/{meeting_id}/edit"
    fields = await form_or_none(request)
    if fields is None:
        return redirect(f"{back}?error=auth.csrf")
    return meeting_id, fields, back


@staff_page()
async def agenda_change(request: Request, caller: Caller) -> Response:
    """Add, change or remove an agenda item from the preparation page."""
    staff = caller.staff
    found = await _meeting_form(request, staff)
    if isinstance(found, Response):
        return found
    meeting_id, fields, back = found
    st = app_state(request)
    item_id: int | None = request.path_params.get("item_id")
    try:
        if item_id is None:
            change = agenda.add_agenda_item(st.db, meeting_id, staff.actor, _item_from(fields))
        elif request.url.path.endswith("/remove"):
            change = agenda.remove_agenda_item(st.db, meeting_id, staff.actor, item_id)
        else:
            change = agenda.update_agenda_item(
                st.db, meeting_id, staff.actor, item_id, _item_from(fields)
            )
        await st.live.commit_and_tell(change)
    except DomainError as error:
        return refused(request, back, error)
    return redirect(back)


@staff_page()
async def agenda_move(request: Request, caller: Caller) -> Response:
    """Move an agenda item to another place in the order, from the preparation page."""
    staff = caller.staff
    found = await _meeting_form(request, staff)
    if isinstance(found, Response):
        return found
    meeting_id, fields, back = found
    st = app_state(request)
    item_id: int = request.path_params["item_id"]
    position = _int(fields.get("position"))
    try:
        await st.live.commit_and_tell(
            agenda.move_agenda_item(
                st.db, meeting_id, staff.actor, item_id, position if position is not None else 0
            )
        )
    except DomainError as error:
        return refused(request, f"{back}#item-{item_id}", error)
    return redirect(f"{back}#item-{item_id}")


@staff_page()
async def meeting_change(request: Request, caller: Caller) -> Response:
    """Rename, reschedule or move a meeting from its preparation page."""
    staff = caller.staff
    found = await _meeting_form(request, staff)
    if isinstance(found, Response):
        return found
    meeting_id, fields, back = found
    st = app_state(request)
    try:
        await st.live.commit_and_tell(
            lifecycle.update_meeting(
                st.db,
                meeting_id,
                staff.actor,
                fields.get("title", ""),
                fields.get("scheduled_on", ""),
                starts_at=fields.get("starts_at"),
                place=fields.get("place"),
            )
        )
    except DomainError as error:
        return refused(request, back, error)
    return redirect(back)


# --- the live faces ----------------------------------------------------------------------------


async def join_url(request: Request, code: str, network_id: int) -> str:
    """The phones' join link (see ``public_base``)."""
    return f"{await public_base(request, network_id)}/j/{code}"


def qr_svg(url: str) -> str:
    """The join QR as inline SVG, drawn on the server (no script, no network)."""
    # omitsize: a viewBox instead of a fixed size, so CSS scales it to the wall.
    svg: str = segno.make(url, error="m").svg_inline(border=2, omitsize=True)
    return svg


def _boot(request: Request, lang: str, face: str, meeting_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "meeting_id": meeting_id,
        "face": face,
        "lang": lang,
        "strings": i18n.catalog(lang),
        **extra,
    }


@staff_page()
async def console(request: Request, caller: Caller) -> Response:
    staff, lang = caller.staff, caller.lang
    try:
        meeting_id = await _meeting_for_staff(request, staff)
    except DomainError:
        return render(request, "not_found.html", lang, 404, staff=staff)
    access = await overview.meeting_access(app_state(request).db, meeting_id)
    assert access is not None
    lists = await overview.network_lists(app_state(request).db, staff.network_id)
    view_link = f"/m/{meeting_id}/projector?view={access[1]}" if access[1] else None
    return render(
        request,
        "console.html",
        lang,
        staff=staff,
        boot=_boot(request, lang, "console", meeting_id, people=lists["people"]),
        view_link=view_link,
    )


async def meeting_viewer(
    request: Request,
) -> tuple[str, int, StaffIdentity | None, tuple[int, str | None, str | None]] | Response:
    """Who may watch (or print) a meeting: its network's staff, or anyone holding its view
    link. Returns the language, the meeting, the staff (if any) and the meeting's access facts."""
    db = app_state(request).db
    meeting_id = _path_id(request)
    access = await overview.meeting_access(db, meeting_id)
    staff = await current_staff(request)
    view = request.query_params.get("view")
    lang = language(request, await default_language(db), staff)
    allowed = access is not None and (
        (
            staff is not None
            and await reaches_meeting(db, staff.network_id, staff.user_id, staff.role, meeting_id)
        )
        or (view is not None and access[1] is not None and view == access[1])
    )
    if not allowed or access is None:
        if staff is None and view is None:
            return login_redirect(request)
        return render(request, "not_found.html", lang, 404, staff=staff)
    return lang, meeting_id, staff, access


async def projector(request: Request) -> Response:
    """The wall: staff signed in, or anyone holding the meeting's view link."""
    found = await meeting_viewer(request)
    if isinstance(found, Response):
        return found
    lang, meeting_id, _staff, access = found
    view = request.query_params.get("view")
    code = access[2]
    url = await join_url(request, code, access[0]) if code else None
    return render(
        request,
        "projector.html",
        lang,
        boot=_boot(request, lang, "projector", meeting_id, view=view, join_url=url, code=code),
        qr=qr_svg(url) if url else None,
        code=code,
        join_url=url,
    )


async def join_page(request: Request) -> Response:
    st = app_state(request)
    lang = language(request, await default_language(st.db))
    error: str | None = None
    details: dict[str, Any] = {}
    if request.method == "POST":
        fields = await form_or_none(request)
        code = (fields or {}).get("code", "")
        if fields is None:
            error = "auth.csrf"
        else:
            try:
                await meeting_for_code(request, code)
            except DomainError as refusal:
                error, details = refusal.key, refusal.params
            else:
                return redirect(f"/j/{joincodes.normalize(code)}")
    return render(
        request, "join.html", lang, 400 if error else 200, error=error, error_params=details
    )


async def phone(request: Request) -> Response:
    """A phone's page, reached by the code (the QR) while the meeting is open."""
    db = app_state(request).db
    lang = language(request, await default_language(db))
    code = str(request.path_params["code"])
    try:
        meeting_id = await meeting_for_code(request, code)
    except DomainError as error:  # a wrong code (404), or a network locked for guessing (429)
        return render(request, "join.html", lang, error.status, error=error.key)
    return render(
        request, "phone.html", lang, boot=_boot(request, lang, "phone", meeting_id, code=code)
    )


async def phone_by_id(request: Request) -> Response:
    """The same page for a phone that joined already: it still works once the meeting is
    closed (its code is void then), for the summary with the phone's own commitments."""
    db = app_state(request).db
    lang = language(request, await default_language(db))
    meeting_id = _path_id(request)
    if await overview.meeting_network(db, meeting_id) is None:
        return render(request, "join.html", lang, 404, error="meeting.not_found")
    return render(
        request, "phone.html", lang, boot=_boot(request, lang, "phone", meeting_id, code=None)
    )
