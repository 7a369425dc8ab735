"""Pieces of the OpenAPI description, shared by every module that describes its endpoints."""

from __future__ import annotations

from typing import Any


def op(
    summary: str,
    auth: str,
    *,
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
    answer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation: who may call it, its parameters, its body and answer (schema names or an
    answer's schema), and the error answer every operation shares."""
    ok: dict[str, Any] = {} if answer is None else {"schema": answer}
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Who may call it: {auth}.",
        "responses": {
            "200": {"description": "OK", "content": {"application/json": ok}},
            "4XX": {"$ref": "#/components/responses/Error"},
        },
    }
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(body)}},
        }
    return operation


def ref(name: str) -> dict[str, str]:
    """A reference to one of the document's schemas."""
    return {"$ref": f"#/components/schemas/{name}"}


def path_param(name: str, description: str) -> dict[str, Any]:
    """An integer id in the path."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
        "description": description,
    }


def query_param(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    """An optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": kind},
        "description": description,
    }
