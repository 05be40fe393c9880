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


# First match wins: a subclass comes before the class it refines.
_STATUS: tuple[tuple[type[VitalfileError] | tuple[type[VitalfileError], ...], int], ...] = (
    (Unauthenticated, 401),
    ((Forbidden, PolicyError), 403),
    (TooLarge, 413),
    (UnsupportedMediaType, 415),
    (MethodNotAllowed, 405),
    ((FileRejected, RecordError), 422),
    (InputError, 400),
    (NotFound, 404),
    ((AppendConflict, StateConflict), 409),
    (StorageError, 503),
)


def status_for(exc: VitalfileError) -> int:
    """The HTTP status an error is answered with (500 for anything unforeseen)."""
    return next((status for kind, status in _STATUS if isinstance(exc, kind)), 500)


def error_response(exc: VitalfileError, headers: dict[str, str] | None = None) -> JSONResponse:
    status = status_for(exc)
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(exc.to_dict(), status_code=status, headers=headers)
