"""What every administration page and its JSON twin share beyond who may come in
(``http.guard``): how an answer and a refusal read. Backbone staff manage the network; a
facilitator reaches only the pages that say so, and there only what belongs to the groups they
look after (``services.scope``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from facilitator.errors import DomainError
from facilitator.http.common import refused


def admin_json(payload: dict[str, Any] | list[Any]) -> JSONResponse:
    """A JSON twin's answer."""
    return JSONResponse(payload)


def back_with_error(back: str, error: DomainError) -> Response:
    """A refused change: back to the page, which shows the reason in the user's language."""
    return refused(back, error)
