"""Identity resolution: which person a report is about, and how sure we are.

A `Linker` turns received reports into `LinkResult`s; `decide` (pure) turns those into
events. The deterministic rule (`RuleLinker`) is the default until the Splink model lands;
swapping the linker changes no caller.
"""

from vitalfile.link.base import Linker, LinkResult, ReportIn

__all__ = ["LinkResult", "Linker", "ReportIn"]
