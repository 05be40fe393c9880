"""The DMF record layouts, declared once: every column's field, position, width and label.

The reader, the writer and the SQL of the bulk load take their columns from here; nothing
else spells out a column position. `docs/formats.md` describes the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from vitalfile.errors import UsageError
from vitalfile.events.identity import NAME_FIELDS

__all__ = [
    "LAYOUTS",
    "LAYOUT_1980",
    "LAYOUT_2011",
    "LAYOUT_NAMES",
    "NAME_COLUMNS",
    "RECORD_FIELDS",
    "RECORD_LENGTH",
    "RESIDENCE_FIELDS",
    "Column",
    "Layout",
    "layout_named",
]

RECORD_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Column:
    """One field of the record: `start` is the 1-based first column."""

    name: str
    start: int
    length: int
    label: str

    @property
    def lo(self) -> int:
        """The 0-based slice start."""
        return self.start - 1

    @property
    def hi(self) -> int:
        """The 0-based slice end."""
        return self.start - 1 + self.length

    @property
    def columns(self) -> str:
        """'82-100', or '1' for a one-character field (as messages and docs name them)."""
        last = self.start + self.length - 1
        return str(self.start) if last == self.start else f"{self.start}-{last}"


@dataclass(frozen=True, slots=True)
class Layout:
    """A named record layout; its columns cover 1-100 in order, the last one blank filler."""

    name: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def filler(self) -> Column:
        return self.columns[-1]

    def as_tuples(self) -> tuple[tuple[str, int, int], ...]:
        """(field, first column, length) per column."""
        return tuple((c.name, c.start, c.length) for c in self.columns)


_COMMON = (
    Column("action", 1, 1, "action code"),
    Column("ssn", 2, 9, "SSN"),
    Column("last_name", 11, 20, "last name"),
    Column("suffix", 31, 4, "name suffix"),
    Column("first_name", 35, 15, "first name"),
    Column("middle_name", 50, 15, "middle name"),
    Column("proof", 65, 1, "proof code"),
    Column("dod", 66, 8, "date of death"),
    Column("dob", 74, 8, "date of birth"),
)

# The layout SSA has written since 1 November 2011: the geography columns blanked.
LAYOUT_2011 = Layout("2011", (*_COMMON, Column("filler", 82, 19, "columns 82-100")))

# The layout of the public file from its start (1980) to October 2011.
LAYOUT_1980 = Layout(
    "1980",
    (
        *_COMMON,
        Column("residence_state", 82, 2, "state of residence"),
        Column("residence_zip", 84, 5, "ZIP of last residence"),
        Column("lump_sum_zip", 89, 5, "ZIP of lump-sum payment"),
        Column("filler", 94, 7, "columns 94-100"),
    ),
)

LAYOUTS: dict[str, Layout] = {"2011": LAYOUT_2011, "1980": LAYOUT_1980}
LAYOUT_NAMES: tuple[str, ...] = tuple(LAYOUTS)
# What every record says (SSN through date of birth), in column order: a death as the DMF
# writes it.
RECORD_FIELDS: tuple[str, ...] = tuple(c.name for c in _COMMON if c.name != "action")
# The name fields in the record's order (last, suffix, first, middle).
NAME_COLUMNS: tuple[str, ...] = tuple(c.name for c in _COMMON if c.name in NAME_FIELDS)
# The pre-2011 fields, in column order (all "" in a record of the 2011 layout).
RESIDENCE_FIELDS: tuple[str, ...] = ("residence_state", "residence_zip", "lump_sum_zip")


def layout_named(name: str | None) -> Layout | None:
    """The layout called `name` ('2011' or '1980'); None (detect) for None or ''."""
    if not name:
        return None
    try:
        return LAYOUTS[name]
    except KeyError:
        raise UsageError(
            f"unknown DMF layout; use one of {', '.join(LAYOUT_NAMES)}", field="layout"
        ) from None
