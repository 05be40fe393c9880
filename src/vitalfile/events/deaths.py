"""Events of the deaths stream: a death posted, corroborated, updated, retracted."""

from __future__ import annotations

from pydantic import Field

from vitalfile.events.base import Event, Proof, SourceKind, _Dated

__all__ = ["DeathCorroborated", "DeathPosted", "DeathRetracted", "DeathUpdated"]


# ── deaths ─────────────────────────────────────────────────────────────────────────────
class DeathPosted(_Dated):
    """The file now believes the person died (or a report adds to that belief)."""

    type = "death.posted"
    person_id: int
    dod: str
    proof: Proof
    report_key: str
    source_kind: SourceKind


class DeathCorroborated(Event):
    """Another report about a death already on file (adds to it; no second death)."""

    type = "death.corroborated"
    person_id: int
    report_key: str
    source_kind: SourceKind


class DeathUpdated(_Dated):
    """The date or the verification level of a death changed."""

    type = "death.updated"
    person_id: int
    dod: str
    proof: Proof
    reason: str
    report_key: str = ""


class DeathRetracted(Event):
    """A death is ended: the person is not dead after all (or not known to be)."""

    type = "death.retracted"
    person_id: int
    reason: str
    evidence: list[str] = Field(default_factory=list)
    decided_by: str = ""
    report_keys: list[str] = Field(default_factory=list)
