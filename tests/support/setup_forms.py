"""A network set-up form with sensible answers, for set-up and staff tests."""

from __future__ import annotations

from typing import Any

from facilitator.services import setup

PASSWORD = "a long enough password"

BACKBONE = "chair@example.org"


def form(**changes: Any) -> setup.NetworkSetup:
    base: dict[str, Any] = {
        "name": "רשת חדשה",
        "language": "he",
        "timezone": "Asia/Jerusalem",
        "admin_name": "יו״ר השדרה",
        "admin_email": BACKBONE,
        "password": PASSWORD,
    }
    return setup.NetworkSetup(**{**base, **changes})
