"""The application factory: `create_app(settings)` wires routes, errors and the console.

No database is opened here or at import time: the store pool opens connections on the first
request, so the same factory serves DuckDB and PostgreSQL (`vitalfile serve --factory`).
"""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitalfile import __version__
from vitalfile.api.deps import no_unknown_query, open_answer_journal
from vitalfile.api.errors import install_error_handlers
from vitalfile.api.keycheck import KeyCheck
from vitalfile.api.observe import Observe
from vitalfile.api.routes import ROUTERS
from vitalfile.api.settings import ApiSettings
from vitalfile.service.errors import TooLarge
from vitalfile.service.pool import StorePool
from vitalfile.service.principal import KeyCache

__all__ = ["BodyLimit", "create_app", "factory", "settle_heap"]


class BodyLimit:
    """Refuse any request body past `limit` bytes (413, the one error shape), declared or
    streamed, before a route reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge(f"the body is larger than {self.limit} bytes", field="body")
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, send: Send) -> None:
        err = TooLarge(f"the body is larger than {self.limit} bytes", field="body")
        body = json.dumps(err.to_dict()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def settle_heap() -> None:
    """Move what is alive now (modules, the app, its routes) out of the collector's sight.

    A full collection walks every tracked object; in a worker holding FastAPI, Pydantic and
    Arrow that took 60-100 ms, a pause every few seconds in a busy worker's p99. Objects
    made before serving live as long as the process, so they are frozen (`gc.freeze`)."""
    gc.collect()
    gc.freeze()


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API and the console over the database `settings.db` (opened on first use)."""
    settings = settings or ApiSettings.from_env()
    settings.checked_secret()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if open_answer_journal(app.state) is not None:  # PostgreSQL: ready before the
            with app.state.pool.borrow():  # first caller, not while answering it
                pass
        settle_heap()
        yield
        # a later start (tests run the lifespan more than once) gets fresh ones
        jobs, app.state.jobs = app.state.jobs, ThreadPoolExecutor(2, thread_name_prefix="vf-job")
        jobs.shutdown(wait=True)
        if app.state.answers is not None:
            app.state.answers.close()
            app.state.answers = None
        app.state.pool.close()
        gc.unfreeze()  # the rest of the process (tests, a later start) collects as usual

    app = FastAPI(
        title="vitalfile",
        version=__version__,
        description="A vital-status master file: reports in, verification, batch matching, "
        "extracts, corrections, cases, determinations and the accounting of disclosures. "
        "Every call carries an API key (`Authorization: Bearer …`), scoped to one recipient "
        "or one staff role; every error is `{code, message, context}`.",
        lifespan=lifespan,
        dependencies=[Depends(no_unknown_query)],
    )
    app.state.settings = settings
    app.state.pool = StorePool(settings.db, settings.pool_size)
    app.state.key_cache = KeyCache()
    app.state.answers = None  # this worker's answer journal (PostgreSQL), opened on first use
    app.state.jobs = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vf-job")
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

    from vitalfile.console import mount_console

    mount_console(app, settings)
    # outermost last: every request observed; the key checked before a body limit or a
    # route reads the body
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(KeyCheck)
    app.add_middleware(Observe)
    return app


def factory() -> Any:
    """For `uvicorn --factory vitalfile.api.app:factory`: settings from the environment."""
    return create_app(ApiSettings.from_env())
