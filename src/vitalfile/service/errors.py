"""The HTTP status of every error in the library's tree, and the one JSON error response.

Both doors answer with these: the API as JSON (`error_response`), the console as a page
with the same status. The three errors only HTTP raises (a body too large, a wrong content
type, a wrong method) join the tree here, as input errors.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from vitalfile.disclosure.access import Forbidden, Unauthenticated
from vitalfile.errors import (
    AppendConflict,
    FileRejected,
    InputError,
    NotFound,
    PolicyError,
    RecordError,
    StateConflict,
    StorageError,
    VitalfileError,
)

__all__ = ["MethodNotAllowed", "TooLarge", "UnsupportedMediaType", "error_response", "status_for"]


class TooLarge(InputError):
    code = "too_large"


class UnsupportedMediaType(InputError):
    code = "media_type"


class MethodNotAllowed(InputError):
    code = "method"


def status_for(exc: VitalfileError) -> int:
    if isinstance(exc, Unauthenticated):
        return 401
    if isinstance(exc, Forbidden | PolicyError):
        return 403
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, UnsupportedMediaType):
        return 415
    if isinstance(exc, MethodNotAllowed):
        return 405
    if isinstance(exc, FileRejected | RecordError):
        return 422
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, AppendConflict | StateConflict):
        return 409
    if isinstance(exc, StorageError):
        return 503
    return 500


def error_response(exc: VitalfileError, headers: dict[str, str] | None = None) -> JSONResponse:
    status = status_for(exc)
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(exc.to_dict(), status_code=status, headers=headers)
