"""The event base: canonical JSON, the type registry, upcasters and `decode`.

An event's canonical bytes are its stored JSON text (`Event.to_json`); `decode` turns stored
text back into the event class registered for its type, upcasting older versions on read.
Dates are ISO text `YYYY-MM-DD`; a partial date carries `00` for an unknown month or day.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator

from vitalfile.dates import partial_date

SourceKind = Literal["state", "funeral_home", "family", "financial", "federal_agency"]
SOURCE_KINDS: tuple[str, ...] = ("state", "funeral_home", "family", "financial", "federal_agency")
Proof = Literal["V", "P", ""]
PartialDate = str  # "YYYY-MM-DD", month/day may be "00"; "" when wholly unknown


EVENT_TYPES: dict[str, type[Event]] = {}
_UPCASTERS: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}


@functools.cache
def _json_head(type_: str, version: int) -> str:
    return json.dumps({"type": type_, "v": version}, separators=(",", ":"))


class Event(BaseModel):
    """Base of every ledger event. Subclasses set `type` and `version`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    type: ClassVar[str] = ""
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type:
            if cls.type in EVENT_TYPES:
                raise TypeError(f"event type {cls.type} registered twice")
            EVENT_TYPES[cls.type] = cls

    def to_json(self) -> str:
        """The canonical stored text: type and version first, then the fields in order."""
        head = _json_head(self.type, self.version)
        body = self.model_dump_json()
        return head[:-1] + ("," + body[1:] if body != "{}" else "}")

    def subject(self) -> int | None:
        """The person this event is about, when there is one (an index column)."""
        value = getattr(self, "person_id", None)
        return int(value) if value is not None else None


def upcaster(
    type_: str, from_version: int
) -> Callable[
    [Callable[[dict[str, Any]], dict[str, Any]]], Callable[[dict[str, Any]], dict[str, Any]]
]:
    """Register a function turning a stored `type_` body of `from_version` into the next."""

    def register(
        fn: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        _UPCASTERS[(type_, from_version)] = fn
        return fn

    return register


def decode(text: str) -> Event:
    """The event stored as `text`, upcast to its current version."""
    raw = json.loads(text)
    type_, version = raw.pop("type"), raw.pop("v")
    cls = EVENT_TYPES[type_]
    while version < cls.version:
        raw = _UPCASTERS[(type_, version)](raw)
        version += 1
    return cls.model_validate(raw)


class _Dated(Event):
    @field_validator("dob", "dod", check_fields=False)
    @classmethod
    def _check_partial(cls, value: str) -> str:
        return partial_date(value)
