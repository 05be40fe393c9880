"""Identity resolution: which person a report is about, and how sure we are.

A `Linker` turns received reports into `LinkResult`s; `decide` (pure) turns those into
events. `make_linker` picks one by name: `splink` (the trained model, the default of the
command line), `rule` (exact SSN, birth date and last name: the library's default and the
baseline). Swapping the linker changes no caller. The model's thresholds are
`decide.DecideSettings`, each settable as `VITALFILE_LINK_<NAME>` (`vitalfile link settings`).
"""

from vitalfile.link.base import Linker, LinkResult, ReportIn

__all__ = ["LINKERS", "LinkResult", "Linker", "ReportIn", "make_linker"]

LINKERS = ("splink", "rule")


def make_linker(name: str) -> Linker:
    """The linker called `name` (one of LINKERS)."""
    from vitalfile.errors import UsageError

    if name == "rule":
        from vitalfile.link.rule import RuleLinker

        return RuleLinker()
    if name == "splink":
        from vitalfile.link.decide import DecideSettings
        from vitalfile.link.splink_linker import SplinkLinker

        return SplinkLinker(settings=DecideSettings.from_env())
    raise UsageError(f"unknown linker; use one of {', '.join(LINKERS)}", field="linker")
