"""What routes depend on: the store (borrowed from the app's pool), the caller, the body.

The store pool and the key holder's look-up are the service's (`vitalfile.service`, shared
with the console); `StoreDep` and `flush_answers` are named here too, for the routes.

`Annotated` dependencies, one per need: `StoreDep`, `PrincipalDep`, `staff(action)` (a staff
key whose role may do `action`, through `access.require`), `RecipientDep` (a recipient key;
what it may receive is decided by `policy.gate` inside the library call), `body_of(types)`
(the raw request body, its content type checked, its size bounded).

The checks that do no I/O are `async` so they run on the event loop: FastAPI sends every
plain `def` dependency to a worker thread, and on a busy verification route those hops
cost more than the work. Only what may wait (a pool with no free store, a key not in the
cache) goes to a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vitalfile.api.settings import ApiSettings
from vitalfile.disclosure.access import Forbidden, Principal, Unauthenticated
from vitalfile.disclosure.access import require as require_action
from vitalfile.errors import UsageError
from vitalfile.intake.pipeline import Intake, intake_for
from vitalfile.service.errors import TooLarge, UnsupportedMediaType
from vitalfile.service.pool import StoreDep, flush_answers
from vitalfile.service.principal import cached_principal, lookup_principal

__all__ = [
    "IntakeDep",
    "PrincipalDep",
    "RecipientDep",
    "SettingsDep",
    "StoreDep",
    "answer_journal",
    "body_of",
    "flush_answers",
    "no_unknown_query",
    "open_answer_journal",
    "principal_from_token",
    "staff",
]

SESSION_COOKIE = "vf_session"


_KNOWN_QUERY: dict[int, frozenset[str]] = {}


async def no_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare (a misspelt filter is an error)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = _KNOWN_QUERY.get(id(route))
    if known is None:
        names: set[str] = set()
        todo = [dependant]
        while todo:
            d = todo.pop()
            names.update(p.alias for p in d.query_params)
            todo.extend(d.dependencies)
        known = frozenset(names)
        _KNOWN_QUERY[id(route)] = known
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise UsageError(f"unknown query parameter: {unknown[0][:40]}", field="query")
    for name in request.query_params:
        if len(request.query_params.getlist(name)) > 1:
            raise UsageError("a query parameter is given more than once", field=name)


_JOURNAL_LOCK = threading.Lock()


def answer_journal(request: Request) -> Any:
    """This worker's journal of online answers (PostgreSQL only; opened on first use)."""
    return open_answer_journal(request.app.state)


def open_answer_journal(state: Any) -> Any:
    """The journal kept on `state.answers` (PostgreSQL only), opened if it is not yet."""
    settings: ApiSettings = state.settings
    if not settings.db.startswith(("postgresql://", "postgres://")):
        return None
    with _JOURNAL_LOCK:
        if state.answers is None:
            from vitalfile.api.answers import AnswerJournal

            state.answers = AnswerJournal(settings.db, settings.work_dir / "journals")
    return state.answers


async def get_settings(request: Request) -> ApiSettings:
    settings = request.app.state.settings
    assert isinstance(settings, ApiSettings)
    return settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]

_bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer vf_…`")


def principal_from_token(request: Request, token: str) -> Principal:
    """The key's holder: from the cache, else looked up (and cached)."""
    return lookup_principal(request.app.state, token, getattr(request.state, "store", None))


async def get_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    # `KeyCheck` found the holder before the body was read; else look the key up here.
    # borrows a store only for the look-up: a route may hand work to a background job
    checked = getattr(request.state, "principal", None)
    if isinstance(checked, Principal):
        return checked
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthenticated("an API key is required (Authorization: Bearer …)")
    hit = cached_principal(request.app.state, creds.credentials)
    if hit is not None:  # the common case answers on the event loop
        return hit
    return await run_in_threadpool(principal_from_token, request, creds.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def staff(action: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency: the caller holds a staff key whose role may do `action`."""

    async def check(principal: PrincipalDep) -> Principal:
        require_action(principal, action)
        return principal

    check.__name__ = f"staff_{action.replace('.', '_')}"
    return check


async def get_recipient(principal: PrincipalDep) -> Principal:
    if not principal.recipient:
        raise Forbidden("this route answers recipients (a recipient's key)")
    return principal


RecipientDep = Annotated[Principal, Depends(get_recipient)]


def body_of(
    *types: str, required: bool = True
) -> Callable[[Request, SettingsDep], Coroutine[Any, Any, tuple[str, bytes]]]:
    """A dependency: (content type, body) — one of `types`, at most `max_upload_bytes`."""

    async def read(request: Request, settings: SettingsDep) -> tuple[str, bytes]:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in types:
            raise UnsupportedMediaType(
                f"content type must be one of: {', '.join(types)}", field="content-type"
            )
        limit = settings.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"the body is larger than {limit} bytes", field="body")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the body is larger than {limit} bytes", field="body")
            chunks.append(chunk)
        body = b"".join(chunks)
        if required and not body:
            raise UnsupportedMediaType("the body is empty", field="body")
        return ctype, body

    return read


def get_intake(request: Request) -> Intake:
    """The intake pipeline the service's settings name, built once per process."""
    state = request.app.state
    intake = getattr(state, "intake", None)
    if intake is None:
        intake = state.intake = intake_for()
    assert isinstance(intake, Intake)
    return intake


IntakeDep = Annotated[Intake, Depends(get_intake)]
