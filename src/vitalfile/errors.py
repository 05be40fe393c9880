"""The one exception tree of vitalfile; every error carries a stable code and its context.

    VitalfileError                      vitalfile_error
    ├── InputError                      input         bad input from outside
    │   ├── RecordError                 record        one record: file, line, record id, field
    │   ├── FileRejected                file_rejected  a file refused whole: its RecordErrors
    │   └── UsageError                  usage         a bad argument or option value
    ├── NotFound                        not_found     unknown person, report, recipient, case…
    ├── StateConflict                   state_conflict the thing is not in a state that allows it
    │                                                  (a case already decided, a recipient
    │                                                  already registered): HTTP 409
    ├── LedgerError                     ledger
    │   ├── ChainBroken                 chain_broken  a stored commit does not match its hash
    │   ├── CheckpointMismatch          checkpoint    a signed checkpoint is not extended
    │   └── AppendConflict              conflict      another writer moved the chain head
    ├── PolicyError                     policy
    │   └── Refused                     refused       nothing may be disclosed (reason given)
    ├── StorageError                    storage       the database failed (SQL named, no values)
    └── ConfigError                     config        a setting or key is missing or unusable

Messages never hold personal data (SSNs, names, addresses): context names the file, the
line, the record id, the field and the *kind* of problem, never the value itself. The CLI
and the API translate this tree at the edge: one line (or one JSON shape) per problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

__all__ = [
    "AppendConflict",
    "ChainBroken",
    "CheckpointMismatch",
    "ConfigError",
    "FileRejected",
    "InputError",
    "LedgerError",
    "NotFound",
    "PolicyError",
    "RecordError",
    "Refused",
    "StateConflict",
    "StorageError",
    "UsageError",
    "VitalfileError",
]

_CONTEXT_ORDER = ("file", "line", "record_id", "field", "commit", "recipient", "case")


class VitalfileError(Exception):
    """Base of every error vitalfile raises on purpose."""

    code: ClassVar[str] = "vitalfile_error"
    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = {k: v for k, v in context.items() if v is not None}

    def where(self) -> str:
        """The context as `file:line record r field f`, in a fixed order."""
        parts: list[str] = []
        file, line = self.context.get("file"), self.context.get("line")
        if file is not None and line is not None:
            parts.append(f"{file}:{line}")
        elif file is not None:
            parts.append(str(file))
        elif line is not None:
            parts.append(f"line {line}")
        for key in _CONTEXT_ORDER[2:]:
            if key in self.context:
                parts.append(f"{key.replace('_', ' ')} {self.context[key]}")
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        """The one JSON error shape: code, message, context."""
        return {"code": self.code, "message": self.message, "context": dict(self.context)}


class InputError(VitalfileError):
    code = "input"
    exit_code = 2


class RecordError(InputError):
    """One bad record: `field` names the field, `message` the kind of problem (no values)."""

    code = "record"

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        file: str | None = None,
        record_id: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, file=file, line=line, record_id=record_id, field=field, **context)

    @property
    def line(self) -> int | None:
        value = self.context.get("line")
        return int(value) if value is not None else None

    @property
    def field(self) -> str | None:
        value = self.context.get("field")
        return str(value) if value is not None else None

    def in_file(self, file: str) -> RecordError:
        """The same error, naming the file it came from."""
        ctx = dict(self.context)
        ctx["file"] = file
        err = RecordError.__new__(type(self))
        VitalfileError.__init__(err, self.message, **ctx)
        return err


class FileRejected(InputError):
    """A file refused whole; `problems` lists every bad record."""

    code = "file_rejected"

    def __init__(self, problems: Sequence[RecordError], *, file: str | None = None) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(f"{n} bad record{'s' if n != 1 else ''}; nothing was written", file=file)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["problems"] = [p.to_dict() for p in self.problems]
        return out


class UsageError(InputError):
    code = "usage"


class NotFound(VitalfileError):
    code = "not_found"
    exit_code = 3


class LedgerError(VitalfileError):
    code = "ledger"


class ChainBroken(LedgerError):
    code = "chain_broken"


class CheckpointMismatch(LedgerError):
    code = "checkpoint"


class AppendConflict(LedgerError):
    code = "conflict"


class StateConflict(VitalfileError):
    """What was asked does not fit the state the file is in (answered 409 by the API)."""

    code = "state_conflict"
    exit_code = 2


class PolicyError(VitalfileError):
    code = "policy"
    exit_code = 4


class Refused(PolicyError):
    code = "refused"


class StorageError(VitalfileError):
    """The database failed; `sql` names the statement (never its parameter values)."""

    code = "storage"


class ConfigError(VitalfileError):
    code = "config"
