"""(being written: see the module's owner in this session's plan)"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
OPENAPI_PATHS: dict[str, Any] = {}
