"""The key check, before anything else reads the request: no valid key, no body parsed.

Every route under `/v1/`, `/metrics` and a jurisdiction's NVSS API (`/MA/Bundle`) needs a
key. This middleware looks the key up (the worker's cache, else the database) before the
route, its body parsing and its schema validation run, so a stranger gets 401 whatever the
body holds, never a 422 describing the schema. The holder found is left on the request
(`request.state.principal`) for the routes' dependencies, which check what it may do.
"""

from __future__ import annotations

import re

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from vitalfile.disclosure.access import Unauthenticated
from vitalfile.errors import VitalfileError
from vitalfile.service.errors import error_response
from vitalfile.service.principal import cached_principal, lookup_principal

__all__ = ["KeyCheck", "needs_key"]

_KEYED = ("/v1/", "/metrics")
_NVSS = re.compile(r"^/[A-Za-z]{2}/(Bundle|metadata)/?$")  # a jurisdiction's NVSS API


def needs_key(path: str) -> bool:
    return path == "/v1" or path.startswith(_KEYED) or bool(_NVSS.match(path))


class KeyCheck:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_key(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        token = ""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = rest.strip()
                break
        try:
            if not token:
                raise Unauthenticated("an API key is required (Authorization: Bearer …)")
            state = scope["app"].state
            principal = cached_principal(state, token)
            if principal is None:
                principal = await to_thread.run_sync(lookup_principal, state, token)
        except VitalfileError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
