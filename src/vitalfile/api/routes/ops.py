"""For the operators: liveness (`/healthz`), readiness (`/readyz`), metrics (`/metrics`)
and a backup taken by the service itself (`POST /v1/backups`).

`/healthz` and `/readyz` need no key and answer only ok / not ok per check, nothing about
the file. `/metrics` is Prometheus text for a key whose role may read metrics (the
`metrics` role, made for a scraper, or a supervisor or auditor). A backup through the
service is how a DuckDB file (one process holds it) is backed up while it serves.
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from vitalfile.api.deps import SettingsDep, StoreDep, open_answer_journal, staff
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.metrics import CONTENT_TYPE, FileStateCollector, render
from vitalfile.api.settings import ApiSettings
from vitalfile.disclosure.access import Principal
from vitalfile.ledger.backup import backup
from vitalfile.ledger.checkpoint import Checkpoint, load_private_key, make_checkpoint
from vitalfile.ledger.store import CommitInfo, utc_now_text

__all__ = ["READY_CHECKS", "readiness", "router"]

log = logging.getLogger("vitalfile.api")
router = APIRouter(tags=["operations"])
MetricsReader = Annotated[Principal, Depends(staff("metrics.read"))]
BackupMaker = Annotated[Principal, Depends(staff("backups.make"))]
READY_CHECKS = ("database", "schema", "journal", "signing_key")


class HealthPublic(BaseModel):
    ok: bool


class BackupPublic(BaseModel):
    name: str  # the folder under the work folder's backups/
    commits: int
    events: int
    head_commit: int
    head_hash: str
    signed: bool  # a checkpoint.json signs the head (the keeper's key was at hand)


class ReadyPublic(BaseModel):
    ok: bool
    checks: dict[str, bool]


@router.get("/healthz", response_model=HealthPublic)
async def healthz() -> HealthPublic:
    """The process answers (no key, no data)."""
    return HealthPublic(ok=True)


def _writable(folder: os.PathLike[str] | str) -> bool:
    os.makedirs(folder, exist_ok=True)
    probe = os.path.join(folder, f".ready-{uuid.uuid4().hex}")
    with open(probe, "wb") as fh:
        fh.write(b"ok")
        fh.flush()
        os.fsync(fh.fileno())
    os.unlink(probe)
    return True


def readiness(state: Any) -> dict[str, bool]:
    """Each check by name: True when it passed (the reason is logged, never answered)."""
    settings: ApiSettings = state.settings
    checks = dict.fromkeys(READY_CHECKS, False)

    def failed(name: str, exc: Exception) -> None:
        log.warning("not ready: %s (%s)", name, type(exc).__name__)

    try:
        with state.pool.borrow() as store:
            store.head()
            checks["database"] = True
            checks["schema"] = store.schema_ready()
    except Exception as exc:
        failed("schema" if checks["database"] else "database", exc)
    try:
        if settings.db.startswith(("postgresql://", "postgres://")):
            answers = open_answer_journal(state)  # this worker's journal takes writes
            checks["journal"] = _writable(answers.journal.path.parent)
        else:
            checks["journal"] = _writable(settings.work_dir)  # DuckDB: answers commit at once
    except Exception as exc:
        failed("journal", exc)
    try:
        load_private_key(settings.key_path)
        checks["signing_key"] = True
    except Exception as exc:
        failed("signing_key", exc)
    return checks


@router.get(
    "/readyz",
    response_model=ReadyPublic,
    responses={503: {"model": ReadyPublic, "description": "a check failed"}},
)
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database answers, its tables are there, the answer journal takes
    writes, the signing key loads. 503 when a check fails (no key, no data)."""
    checks = readiness(request.app.state)
    ok = all(checks.values())
    return JSONResponse({"ok": ok, "checks": checks}, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={**COMMON_RESPONSES, 200: {"content": {"text/plain": {}}}},
)
def metrics(request: Request, _: MetricsReader, settings: SettingsDep) -> Response:
    """Prometheus text: requests and latency by route template and status (every worker),
    journal lag, open and overdue cases by kind, corrections owed by recipient, the newest
    checkpoint's age, the last ingest's events by type. No personal data."""
    state = request.app.state
    is_pg = settings.db.startswith(("postgresql://", "postgres://"))
    journals = settings.work_dir / "journals" if is_pg else None
    checkpoints = settings.checkpoints_folder()
    try:
        with state.pool.borrow() as store:
            body = render(FileStateCollector(store, journals=journals, checkpoints=checkpoints))
    except Exception as exc:  # no database: the request counts and `vitalfile_database_up 0`
        log.warning("metrics without the database (%s)", type(exc).__name__)
        body = render(FileStateCollector(None, journals=journals, checkpoints=checkpoints))
    return Response(body, media_type=CONTENT_TYPE)


@router.post(
    "/v1/backups", response_model=BackupPublic, status_code=201, responses=COMMON_RESPONSES
)
def make_backup(_: BackupMaker, store: StoreDep, settings: SettingsDep) -> BackupPublic:
    """Back the ledger up into `WORK_DIR/backups/<UTC time>` (`ledger.backup`: every commit
    and event up to the verified head, a manifest, a signed checkpoint when the key is
    there); restore it with `vitalfile db restore`. On DuckDB the service holds the file,
    so this is the way to back it up while serving."""
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    key = load_private_key(settings.key_path) if settings.key_path.exists() else None

    def sign(head: CommitInfo) -> Checkpoint:
        assert key is not None
        return make_checkpoint(head, key, utc_now_text())

    result = backup(store, settings.work_dir / "backups" / name, sign=sign if key else None)
    head = result.head
    return BackupPublic(
        name=name,
        commits=result.commits,
        events=result.events,
        head_commit=head.commit_no if head else 0,
        head_hash=head.hash if head else "",
        signed=result.checkpoint is not None,
    )
