"""Batch matching: a recipient uploads a customers CSV, polls the job, downloads the answers.

The match runs in a background thread of the worker that took the upload (through the gate,
as `verify.match_batch` does); its state and answer file live under `work_dir`, so any
worker can answer the poll and the download. A job belongs to the recipient that made it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse

from vitalfile.api.deps import RecipientDep, SettingsDep, body_of
from vitalfile.api.errors import COMMON_RESPONSES
from vitalfile.api.models import MatchJobPublic
from vitalfile.disclosure.verify import match_batch
from vitalfile.errors import NotFound, VitalfileError
from vitalfile.service.errors import error_response
from vitalfile.service.pool import StorePool

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["batch match"], responses=COMMON_RESPONSES)
_BODY = {
    "requestBody": {
        "required": True,
        "description": "customers CSV: customer_id,ssn,first_name,last_name,dob",
        "content": {
            "text/csv": {
                "schema": {"type": "string", "pattern": "^customer_id,ssn,first_name,last_name,dob"}
            }
        },
    }
}
JobId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$")]
_WAIT_SECONDS = 5.0


def _dir(work_dir: Path, recipient: str) -> Path:
    return work_dir / "matches" / hashlib.sha256(recipient.encode()).hexdigest()[:16]


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    tmp.replace(path)


def _run(pool: StorePool, recipient: str, src: Path, out: Path, meta_path: Path) -> None:
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    try:
        with pool.borrow() as store:
            res = match_batch(store, recipient, src, out)
        meta.update(status="done", rows=res.rows, counts=res.counts, deaths_given=res.deaths_given)
    except VitalfileError as exc:
        meta.update(status="failed", error=exc.to_dict())
    except Exception:  # a bug: the job fails, the worker goes on
        meta.update(status="failed", error=VitalfileError("internal error").to_dict())
    finally:
        src.unlink(missing_ok=True)
    _write_meta(meta_path, meta)


def _public(meta: dict[str, Any], job_id: str) -> MatchJobPublic:
    done = meta["status"] == "done"
    return MatchJobPublic(
        job_id=job_id,
        status=meta["status"],
        rows=meta.get("rows"),
        counts=meta.get("counts", {}),
        deaths_given=meta.get("deaths_given"),
        result_url=f"/v1/matches/{job_id}/result" if done else None,
        error=meta.get("error"),
    )


@router.post(
    "/matches",
    response_model=MatchJobPublic,
    status_code=202,
    openapi_extra=_BODY,
    responses={200: {"model": MatchJobPublic, "description": "already done"}},
)
def create_match(
    request: Request,
    principal: RecipientDep,
    settings: SettingsDep,
    body: Annotated[tuple[str, bytes], Depends(body_of("text/csv"))],
) -> Any:
    """Start matching a customers CSV; answers at once when the job finishes quickly."""
    job_id = uuid.uuid4().hex
    folder = _dir(settings.work_dir, principal.recipient)
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{job_id}.in.csv"
    src.write_bytes(body[1])
    meta_path = folder / f"{job_id}.json"
    _write_meta(meta_path, {"status": "running", "recipient": principal.recipient})
    executor: ThreadPoolExecutor = request.app.state.jobs
    fut: Future[None] = executor.submit(
        _run, request.app.state.pool, principal.recipient, src, folder / f"{job_id}.csv", meta_path
    )
    try:
        fut.result(timeout=_WAIT_SECONDS)
    except TimeoutError:
        return _public(json.loads(meta_path.read_text(encoding="utf-8")), job_id)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta["status"] == "failed":
        error = meta["error"]
        return JSONResponse(error, status_code=_STATUS_OF_CODE.get(error.get("code"), 500))
    return JSONResponse(_public(meta, job_id).model_dump(), status_code=200)


# a failed job answers as the error would have, had it been raised in the request
_STATUS_OF_CODE = {
    "refused": 403,
    "policy": 403,
    "file_rejected": 422,
    "record": 422,
    "input": 400,
    "usage": 400,
    "not_found": 404,
    "storage": 503,
}


def _meta(settings_dir: Path, recipient: str, job_id: str) -> dict[str, Any]:
    path = _dir(settings_dir, recipient) / f"{job_id}.json"
    if not path.exists():
        raise NotFound("no such match job for this recipient", record_id=job_id)
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return meta


@router.get("/matches/{job_id}", response_model=MatchJobPublic)
def get_match(job_id: JobId, principal: RecipientDep, settings: SettingsDep) -> MatchJobPublic:
    """The job's state: running, done (with counts and the answer's address) or failed."""
    return _public(_meta(settings.work_dir, principal.recipient, job_id), job_id)


@router.get(
    "/matches/{job_id}/result",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def get_match_result(job_id: JobId, principal: RecipientDep, settings: SettingsDep) -> Any:
    """The answers, one line per customer row (CSV)."""
    meta = _meta(settings.work_dir, principal.recipient, job_id)
    if meta["status"] != "done":
        return error_response(NotFound("the job has no answer file (yet)", record_id=job_id))
    path = _dir(settings.work_dir, principal.recipient) / f"{job_id}.csv"
    return FileResponse(path, media_type="text/csv", filename=f"match-{job_id}.csv")
