"""The two sides of a comparison as Splink input tables: reports and people, same columns.

Set-wise (Arrow kernels, names mapped once per distinct value). Unknown is NULL: an empty
string, a sex of "U" and a wholly unknown date all become NULL so that Splink's null levels
see them. No SQL, no model.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from vitalfile.events import ReportReceived
from vitalfile.link.names import (
    first_name_forms,
    last_name_parts,
    map_distinct,
    norm_name,
    surname_parts,
)

__all__ = ["FRAME_SCHEMA", "person_frame", "report_frame", "reports_table"]

FRAME_SCHEMA = pa.schema(
    [
        ("unique_id", pa.int64()),
        ("ssn", pa.string()),
        ("first_name", pa.string()),
        ("first_name_forms", pa.list_(pa.string())),
        ("last_name", pa.string()),
        ("last_name_parts", pa.list_(pa.string())),
        ("dob", pa.string()),
        ("sex", pa.string()),
        ("state", pa.string()),
    ]
)
_STR = pa.string()


def _col(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, _STR)
    return table.column(name).combine_chunks().cast(_STR)


def _null_empty(arr: pa.Array) -> pa.Array:
    trimmed = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, _STR), trimmed)


def _surname_parts(last: pa.Array, former: pa.Array) -> pa.Array:
    """Per row, the parts of the (normalised) surname and of the former surnames."""
    if pc.all(pc.equal(pc.fill_null(former, ""), "")).as_py() is not False:
        return map_distinct(last, lambda v: list(last_name_parts(v)) or None, pa.list_(_STR))
    # one key per distinct (surname, former names); a normal name holds no line break
    key = pc.binary_join_element_wise(pc.fill_null(last, ""), pc.fill_null(former, ""), "\n")
    return map_distinct(
        key, lambda v: list(surname_parts(*v.split("\n", 1))) or None, pa.list_(_STR)
    )


def _frame(table: pa.Table, id_col: str, state_col: str, *, person: bool) -> pa.Table:
    first = map_distinct(_col(table, "first_name"), lambda v: norm_name(v) or None, _STR)
    last = map_distinct(_col(table, "last_name"), lambda v: norm_name(v) or None, _STR)
    forms = map_distinct(first, lambda v: list(first_name_forms(v)), pa.list_(_STR))
    # only people carry former names; a report gives one surname
    former = _col(table, "former_names") if person else pa.nulls(table.num_rows, _STR)
    parts = _surname_parts(last, former)
    sex = pc.utf8_upper(_null_empty(_col(table, "sex")))
    sex = pc.if_else(pc.is_in(sex, value_set=pa.array(["M", "F"])), sex, pa.scalar(None, _STR))
    ssn = _null_empty(_col(table, "ssn"))
    dob = _null_empty(_col(table, "dob"))
    dob = pc.if_else(pc.starts_with(dob, "0000"), pa.scalar(None, _STR), dob)
    return pa.Table.from_arrays(
        [
            table.column(id_col).combine_chunks().cast(pa.int64()),
            ssn,
            first,
            forms,
            last,
            parts,
            dob,
            sex,
            pc.utf8_upper(_null_empty(_col(table, state_col))),
        ],
        schema=FRAME_SCHEMA,
    )


def person_frame(people: pa.Table, id_col: str = "person_id") -> pa.Table:
    """People (master-file or synthetic columns) as a Splink input table.

    `last_name_parts` holds the parts of the surname and of the former surnames
    (`former_names`, ";"-separated), so a report giving a maiden name shares a part.
    """
    return _frame(people, id_col, "state", person=True)


def report_frame(reports: pa.Table, id_col: str = "unique_id") -> pa.Table:
    """Reports (canonical report columns plus an integer id) as a Splink input table."""
    return _frame(reports, id_col, "death_state", person=False)


def reports_table(reports: Sequence[ReportReceived]) -> pa.Table:
    """Received reports as Arrow columns; `unique_id` is the position in `reports`."""
    cols = ("ssn", "first_name", "last_name", "dob", "sex", "death_state")
    return pa.table(
        {
            "unique_id": pa.array(range(len(reports)), pa.int64()),
            **{c: pa.array([getattr(r, c) for r in reports], _STR) for c in cols},
        }
    )
