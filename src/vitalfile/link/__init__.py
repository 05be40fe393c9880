"""Identity resolution, scoring only: which person a report is most likely about, and how sure.

A `Linker` turns received reports into proposals (`LinkResult`): `splink` (the trained model,
on DuckDB or Spark) or `rule` (exact SSN, birth date and last name). It never protects
anyone: the holds are `intake.holds`, and `intake.pipeline.intake_for` builds the one
pipeline every door uses. The model's thresholds are `decide.DecideSettings`, each settable
as `VITALFILE_LINK_<NAME>` (`vitalfile settings`).
"""

from vitalfile.link.base import Linker, LinkResult, ReportIn

__all__ = ["LINKERS", "LinkResult", "Linker", "ReportIn"]

LINKERS = ("splink", "rule")
