"""Every error the API answers, in the one JSON shape (`VitalfileError.to_dict`).

The library's tree is translated at the edge to an HTTP status (`service.errors.status_for`,
the console's too); FastAPI's and Starlette's own errors (unknown route, wrong method, a body
that does not match its schema) are translated here, so a client only ever sees
`{"code", "message", "context"}` (plus `problems` for a file).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from vitalfile.disclosure.access import Forbidden, Unauthenticated
from vitalfile.errors import (
    FileRejected,
    InputError,
    NotFound,
    RecordError,
    UsageError,
    VitalfileError,
)
from vitalfile.service.errors import (
    MethodNotAllowed,
    TooLarge,
    UnsupportedMediaType,
    error_response,
    status_for,
)

__all__ = [
    "COMMON_RESPONSES",
    "ErrorPublic",
    "install_error_handlers",
]

log = logging.getLogger("vitalfile.api")


class ProblemPublic(BaseModel):
    code: str
    message: str
    context: dict[str, Any] = Field(default_factory=dict)


class ErrorPublic(BaseModel):
    """The one error shape: a stable code, a message without personal data, its context."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"code": "not_found", "message": "no such case", "context": {"case": "x"}}
        }
    )
    code: str
    message: str
    context: dict[str, Any] = Field(default_factory=dict)
    problems: list[ProblemPublic] | None = None


def _doc(text: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": text}


# Documented on every route: what any call can be answered with.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("bad input (code input, usage)"),
    401: _doc("no key, an unknown or a revoked key (code unauthenticated)"),
    403: _doc("the role may not do this (forbidden), or the gate refused (refused)"),
    404: _doc("not found (not_found)"),
    405: _doc("method not allowed (method)"),
    409: _doc("conflict (conflict)"),
    413: _doc("request body too large (too_large)"),
    415: _doc("wrong content type (media_type)"),
    422: _doc("the body or a parameter does not match the schema (input, file_rejected)"),
    503: _doc("the database is unavailable (storage)"),
}


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _allowed(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def _console(request: Request) -> bool:
    hook = getattr(request.app.state, "html_error", None)
    return hook is not None and request.url.path.startswith("/console")


def _html(request: Request, exc: VitalfileError) -> Response:
    """Console pages answer errors as a page (the console registers the hook)."""
    response: Response = request.app.state.html_error(request, exc)
    return response


def install_error_handlers(app: FastAPI) -> None:
    async def vitalfile_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, VitalfileError)
        if status_for(exc) >= 500:
            log.error("request failed: %s %s", exc.code, type(exc).__name__)
        if _console(request):
            return _html(request, exc)
        return error_response(exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [
            RecordError(str(e.get("msg", "invalid")), field=_loc(e.get("loc", ())))
            for e in exc.errors()
        ]
        err = FileRejected(problems)
        if _console(request):
            return _html(request, UsageError("the form is incomplete or malformed"))
        body = err.to_dict()
        body["code"] = "input"
        n = len(problems)
        body["message"] = f"the request does not match its schema ({n} problem{'s' * (n != 1)})"
        if problems:
            body["context"] = {"field": problems[0].field}
        return JSONResponse(body, status_code=422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        err: VitalfileError
        if exc.status_code == 404:
            err = NotFound("no such route" if exc.detail == "Not Found" else str(exc.detail))
        elif exc.status_code == 405:
            err = MethodNotAllowed("method not allowed on this route")
            headers = {**(exc.headers or {}), "Allow": _allowed(request)}
            if not _console(request):
                return JSONResponse(err.to_dict(), status_code=405, headers=headers)
        elif exc.status_code == 413:
            err = TooLarge("request body too large")
        elif exc.status_code == 415:
            err = UnsupportedMediaType(str(exc.detail))
        elif exc.status_code == 401:
            err = Unauthenticated(str(exc.detail))
        elif exc.status_code == 403:
            err = Forbidden(str(exc.detail))
        elif exc.status_code < 500:
            err = InputError(str(exc.detail))
        else:
            err = VitalfileError("internal error")
        if _console(request) and exc.status_code in (404, 405):
            return _html(request, err)
        return JSONResponse(err.to_dict(), status_code=exc.status_code, headers=exc.headers)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse(VitalfileError("internal error").to_dict(), status_code=500)

    app.add_exception_handler(VitalfileError, vitalfile_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
