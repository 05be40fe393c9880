"""Every request seen: a request id, one log line, and its count and latency in the metrics.

The outermost middleware. The request id is the caller's `X-Request-ID` when it is a short
token (letters, digits, `-`, `_`, `.`), else a new one; it is answered in `X-Request-ID` and
carried by every log line written while the request runs (`vitalfile.logs.REQUEST_ID`).
What is logged and counted is the route template (`/v1/cases/{case_id}`), never the path,
the query or the body: those can hold an SSN or a name.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitalfile.api.metrics import request_metrics
from vitalfile.logs import REQUEST_ID

__all__ = ["Observe", "route_template"]

log = logging.getLogger("vitalfile.api.requests")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def route_template(scope: Scope) -> str:
    """The matched route's template, or "unmatched" (a path no route serves: never the path
    itself, which would give a label per stranger's guess)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class Observe:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = ""
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if _GOOD_ID.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = str(scope.get("method", ""))
            request_metrics().observe(method, route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %d %.1f ms",
                    method,
                    route,
                    status,
                    seconds * 1000,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "ms": round(seconds * 1000, 2),
                    },
                )
            REQUEST_ID.reset(token)
