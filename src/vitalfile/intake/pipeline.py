"""The one way in: read → screen → link → holds → post → append, configured once.

`Intake` is the linker (the trained model unless the exact rule is asked for, on the engine
the settings name) and the thresholds of the holds stage. Every door (the CLI, the HTTP API,
the console, VRDR files and messages, the library's `ingest_*` calls) links through
`Intake.link`, so the protections in `intake.holds` run for every report, whatever door,
engine or database it takes.

Settings: `VITALFILE_LINKER` (`splink` or `rule`), `VITALFILE_ENGINE` (`duckdb` or
`spark`), and the thresholds `VITALFILE_LINK_<NAME>` (`vitalfile settings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vitalfile.errors import ConfigError
from vitalfile.events import ReportReceived
from vitalfile.intake.holds import apply_holds, facts_for
from vitalfile.ledger.store import Store
from vitalfile.link import LINKERS, Linker, LinkResult
from vitalfile.link.decide import DecideSettings
from vitalfile.settings import Settings

__all__ = ["DEFAULT_LINKER", "Intake", "intake_for"]

DEFAULT_LINKER = "splink"


@dataclass
class Intake:
    """The configured pipeline's linking half: propose with `linker`, then hold."""

    linker: Linker
    settings: DecideSettings = field(default_factory=DecideSettings)

    @property
    def version(self) -> str:
        return self.linker.version

    def link(self, store: Store, reports: Sequence[ReportReceived]) -> list[LinkResult]:
        """Each report's outcome: the engine's proposal, then the holds stage."""
        if not reports:
            return []
        proposals = self.linker.link(store, reports)
        return apply_holds(reports, proposals, facts_for(store, reports, proposals), self.settings)

    def close(self) -> None:
        """Stop what the engine started (a Spark session); a no-op for the others."""
        closer: Any = getattr(self.linker, "close", None)
        if callable(closer):
            closer()


def intake_for(
    linker: str | Linker | Intake | None = None,
    *,
    engine: str | None = None,
    settings: DecideSettings | None = None,
) -> Intake:
    """The pipeline for a linker name (or object), the engine, and the thresholds; each None
    read from the environment (`VITALFILE_LINKER`, `VITALFILE_ENGINE`, `VITALFILE_LINK_*`)."""
    if isinstance(linker, Intake):
        return linker
    s = settings or DecideSettings.from_env()
    if linker is not None and not isinstance(linker, str):
        return Intake(linker, s)
    name = (linker or Settings.from_env().linker or DEFAULT_LINKER).strip().lower()
    if name not in LINKERS:
        raise ConfigError(f"unknown linker; use one of {', '.join(LINKERS)}", field="linker")
    if name == "rule":
        from vitalfile.link.rule import RuleLinker

        return Intake(RuleLinker(), s)
    from vitalfile.link.spark import linker_for

    return Intake(linker_for(engine, decide=s), s)
