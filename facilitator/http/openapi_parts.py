"""Pieces of the OpenAPI description, shared by every module that describes its endpoints."""

from __future__ import annotations

from typing import Any


def op(
    summary: str, auth: str, *, body: str | None = None, params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Who may call it: {auth}.",
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {}}},
            "4XX": {"$ref": "#/components/responses/Error"},
        },
    }
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return operation


def path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
        "description": description,
    }


def query_param(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": kind},
        "description": description,
    }
