"""``/mail/off/{token}``: the unsubscribe link in every mail that can be turned off.

A person opening it gets a page asking first (a mail scanner that follows links must not
unsubscribe anyone); a mail program's own "unsubscribe" posts to it directly (RFC 8058
one-click), so the post needs no form token: the secret in the address is the authority, and it
can do nothing but stop one kind of mail to one person.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from facilitator.http.common import app_state, language, render
from facilitator.services import mail_outbox
from facilitator.services.network import default_language

NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


async def _page(request: Request, kind: str | None, *, done: bool) -> Response:
    lang = language(request, await default_language(app_state(request).db))
    if kind is None:
        return render(request, "not_found.html", lang, 404)
    response = render(
        request, "mail_off.html", lang, kind=kind, done=done, token=request.path_params["token"]
    )
    response.headers.update(NO_STORE)
    return response


async def ask(request: Request) -> Response:
    found = await mail_outbox.unsubscribe_of(app_state(request).db, request.path_params["token"])
    return await _page(request, found[1] if found else None, done=False)


async def stop(request: Request) -> Response:
    kind = await mail_outbox.unsubscribe(app_state(request).db, request.path_params["token"])
    return await _page(request, kind, done=True)
