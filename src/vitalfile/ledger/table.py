"""A projection's table, declared once: its columns and their types give the DDL, the
column list its readers select, and the Arrow table its writer inserts.

A column is written `"name TYPE"` (NOT NULL), `"name TYPE NULL"` (may be NULL) or
`"name TYPE PRIMARY KEY"`; TYPE is one of VARCHAR, BIGINT, INTEGER, BOOLEAN, DOUBLE, words
both DuckDB and PostgreSQL read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

__all__ = ["Table"]

_ARROW: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "DOUBLE": pa.float64(),
}


class Table:
    """One table: `name`, `columns` (in order), `ddl`, `insert_sql` (one row); `arrow`,
    `from_rows`, `from_events` make the Arrow rows inserted."""

    def __init__(self, name: str, *columns: str) -> None:
        self.name = name
        names: list[str] = []
        parts: list[str] = []
        self._types: dict[str, pa.DataType] = {}
        for text in columns:
            column, kind, *rest = text.split()
            if kind not in _ARROW or column in self._types:
                raise ValueError(f"table {name}: bad column {text!r}")
            modifier = " ".join(rest)
            if modifier not in ("", "NULL", "PRIMARY KEY"):
                raise ValueError(f"table {name}: bad column {text!r}")
            names.append(column)
            self._types[column] = _ARROW[kind]
            tail = {"": " NOT NULL", "NULL": "", "PRIMARY KEY": " PRIMARY KEY"}[modifier]
            parts.append(f"{column} {kind}{tail}")
        self.columns: tuple[str, ...] = tuple(names)
        self.ddl = f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(parts)})"
        # one row, its values in column order (a projection that writes event by event)
        self.insert_sql = (
            f"INSERT INTO {name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        )

    def arrow(self, data: Mapping[str, Sequence[Any]]) -> pa.Table:
        """An Arrow table of these columns from one list of values per column (each given)."""
        if set(data) != set(self.columns):
            missing = sorted(set(self.columns) - set(data))
            extra = sorted(set(data) - set(self.columns))
            raise ValueError(f"table {self.name}: missing {missing}, unknown {extra}")
        return pa.table({c: pa.array(data[c], self._types[c]) for c in self.columns})

    def from_rows(self, rows: Sequence[Sequence[Any]]) -> pa.Table:
        """An Arrow table of these columns from rows in column order."""
        return self.arrow({c: [r[i] for r in rows] for i, c in enumerate(self.columns)})

    def from_events(self, rows: Sequence[tuple[int, Any]], **attrs: str) -> pa.Table:
        """One row per (seq, event): column `seq` is the sequence number, every other column
        the event's attribute of the same name (or the one `attrs` names for it)."""
        return self.arrow(
            {
                c: [s for s, _ in rows]
                if c == "seq"
                else [getattr(e, attrs.get(c, c)) for _, e in rows]
                for c in self.columns
            }
        )
