"""Log lines for operators: plain text or JSON lines, each carrying the request id.

`configure(level, fmt)` sets up the root logger for a command; `uvicorn_log_config` gives
the same setup to every `vitalfile serve` worker. The request id lives in a context
variable that the API's middleware sets (`REQUEST_ID`); a filter copies it onto each record.
Messages are written by our own code and carry no personal data; this module only formats.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "LOG_FORMATS",
    "REQUEST_ID",
    "JsonFormatter",
    "RequestIdFilter",
    "configure",
    "uvicorn_log_config",
]

LOG_FORMATS = ("text", "json")
REQUEST_ID: ContextVar[str] = ContextVar("vitalfile_request_id", default="")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# the attributes every LogRecord has; anything else was passed with `extra=` and is kept
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured copy of the message
}


class RequestIdFilter(logging.Filter):
    """Copies the current request id (or "") onto each record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, process id, request id, and
    what the call passed with `extra=` (the request line's method, route, status, ms)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        rid = getattr(record, "request_id", "") or REQUEST_ID.get()
        if rid:
            doc["request_id"] = rid
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                doc[name] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            # the exception's type only: its message may quote the input that failed
            doc["exception"] = record.exc_info[0].__name__
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", "")
        return f"{text} [{rid}]" if rid else text


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.upper())
    return value if isinstance(value, int) else logging.WARNING


def _check(fmt: str) -> str:
    if fmt not in LOG_FORMATS:
        from vitalfile.errors import UsageError

        raise UsageError(f"log format must be one of {', '.join(LOG_FORMATS)}", field="log_format")
    return fmt


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record comes (it may be replaced)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure(level: str | int = "WARNING", fmt: str = "text", stream: Any = None) -> None:
    """The root logger at `level`, one handler on stderr (or `stream`) in format `fmt`.
    A handler this function added before is replaced; other handlers are left alone."""
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonFormatter() if _check(fmt) == "json" else _TextFormatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler._vitalfile = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_vitalfile", False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(_level(level))


def uvicorn_log_config(level: str | int = "WARNING", fmt: str = "text") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn's workers: everything to one stderr handler
    (uvicorn's loggers too), in format `fmt`, with the request id."""
    formatter: dict[str, Any] = (
        {"()": "vitalfile.logs.JsonFormatter"}
        if _check(fmt) == "json"
        else {"()": "vitalfile.logs._TextFormatter", "fmt": TEXT_FORMAT}
    )
    lvl = logging.getLevelName(_level(level))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "vitalfile.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            name: {"handlers": [], "level": lvl, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
        "root": {"handlers": ["stderr"], "level": lvl},
    }
