"""Loading a people file into the ledger: each new person a `person.registered` event.

One path for every caller (the CLI, the demo, benchmarks, tests) and both databases: the
file is staged by the database itself (DuckDB `read_csv`, PostgreSQL `COPY`), checked by SQL,
and the events are rendered by SQL with the same canonical JSON as `PersonRegistered.to_json`
(cross-checked by tests on both backends), hashed per commit, and the `persons` rows written
by SQL from the same staged rows. A file the SQL checks do not pass whole (a bad record, an
odd but valid spelling, a quoted quote) is read record by record by `sources.csv`, whose
rules decide: the file is refused whole on any bad record or an SSN that appears twice, the
errors naming line and field and never a value. A person whose SSN is already on file is
skipped, so loading the same file twice records nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events import PersonRegistered
from vitalfile.ledger.store import StepProgress, Store, Tx
from vitalfile.master.projection import PERSON_COLUMNS
from vitalfile.sources.csv import (
    PEOPLE_COLUMNS_WITHOUT_FORMER,
    STATE_CODES,
    PersonRow,
    check_person,
    read_people,
)

__all__ = ["PeopleResult", "load_people_file", "person_body_sql"]

MAX_LISTED_PROBLEMS = 1000
_STAGE = "__people_stage"
_NEW = "__people_new"
_ODD = '[\\x00-\\x1f\\x7f"]'
_ESCAPED = '[\\x00-\\x1f\\x7f"\\\\]'  # what JSON writes escaped


@dataclass
class PeopleResult:
    registered: int
    already_on_file: int
    commits: int
    first_person_id: int


def person_body_sql(pid: str, *, plain: bool = False) -> str:
    """SQL rendering `PersonRegistered(...).to_json()` for the staged row (person id `pid`).

    One `concat(...)`: several times faster in DuckDB than a chain of `||`; the same text
    on PostgreSQL (`to_json` of text escapes as Pydantic does; checked rows hold no control
    characters). `plain` when no staged value holds a character JSON escapes (a control
    character, a quote, a backslash): each value is then written between quotes as it is.
    """
    head = f'{{"type":"{PersonRegistered.type}","v":{PersonRegistered.version},"person_id":'
    args = [f"'{head}'", f"CAST({pid} AS VARCHAR)"]
    for c in PERSON_COLUMNS:
        if plain:
            args += [f'\',"{c}":"\'', c, "'\"'"]
        else:
            args += [f"',\"{c}\":'", f"CAST(to_json({c}) AS VARCHAR)"]
    args.append("'}'")
    return f"concat({', '.join(args)})"


def _valid_date_sql(store: Store, col: str) -> str:
    """SQL true when `col` is '' or a partial ISO date `dates.partial_date` accepts.

    Compared as text (the digits are checked first), the year cast only for 29 February:
    a CASE, so no cast runs before the shape is known (PostgreSQL may evaluate AND's
    operands in any order).
    """
    y, m, d = f"substr({col}, 1, 4)", f"substr({col}, 6, 2)", f"substr({col}, 9, 2)"
    year = f"CAST({y} AS INTEGER)"
    return (
        f"CASE WHEN {col} = '' THEN true "
        f"WHEN NOT {store.regex_sql(col, '[0-9]{4}-[0-9]{2}-[0-9]{2}')} THEN false "
        f"WHEN {y} = '0000' OR {m} > '12' THEN false "
        f"WHEN {m} = '00' THEN {d} = '00' "
        f"WHEN {d} <= '28' THEN true "
        f"WHEN {m} = '02' THEN {d} = '29' AND {year} % 4 = 0 "
        f"AND ({year} % 100 <> 0 OR {year} % 400 = 0) "
        f"WHEN {m} IN ('04', '06', '09', '11') THEN {d} <= '30' "
        f"ELSE {d} <= '31' END"
    )


def _clean_sql(store: Store, odd: str = _ODD) -> str:
    """SQL true for a staged row that `sources.csv` takes exactly as it stands.

    A row it is false for is not necessarily bad: the record-by-record reader decides.
    """
    codes = ", ".join(f"'{c}'" for c in sorted(STATE_CODES))
    text = "concat(" + ", ".join(PERSON_COLUMNS) + ")"
    # a control character is refused, a quote is read differently by some CSV readers
    return " AND ".join(
        [
            f"NOT {store.regex_sql(text, odd, whole=False)}",
            store.regex_sql("ssn", "[0-9]{9}"),
            "substr(ssn, 1, 3) NOT IN ('000', '666') AND substr(ssn, 1, 1) <> '9' "
            "AND substr(ssn, 4, 2) <> '00' AND substr(ssn, 6, 4) <> '0000' "
            "AND ssn NOT IN ('078051120', '219099999')",
            f"({_valid_date_sql(store, 'dob')})",
            "sex IN ('M', 'F', 'U', '')",
            f"(birth_state = '' OR birth_state IN ({codes}))",
            f"(state = '' OR state IN ({codes}))",
            f"(zip = '' OR {store.regex_sql('zip', '[0-9]{5}(-[0-9]{4})?')})",
        ]
    )


def _header_columns(path: Path) -> tuple[str, ...] | None:
    """The columns of a canonical people header (with or without former names), or None."""
    with path.open("rb") as fh:
        first = fh.readline(4096)
    text = first.decode("utf-8", "replace").removeprefix("\ufeff").rstrip("\r\n")
    for columns in (PERSON_COLUMNS, PEOPLE_COLUMNS_WITHOUT_FORMER):
        if text == ",".join(columns):
            return columns
    return None


def _rows_table(rows: list[PersonRow]) -> pa.Table:
    return pa.table(
        {c: pa.array([getattr(r, c) for r in rows], pa.string()) for c in PERSON_COLUMNS}
    )


def _read_checked(path: Path) -> pa.Table:
    """The file read record by record (`sources.csv` rules); FileRejected names each bad one."""
    rows: list[PersonRow] = []
    errors: list[RecordError] = []
    seen: set[str] = set()
    for line, item in enumerate(read_people(path), start=2):
        if isinstance(item, RecordError):
            errors.append(item.in_file(path.name))
        elif item.ssn in seen:
            errors.append(
                RecordError("SSN appears twice in the file", line=line, field="ssn", file=path.name)
            )
        else:
            seen.add(item.ssn)
            rows.append(item)
    if errors:
        raise FileRejected(errors[:MAX_LISTED_PROBLEMS], file=path.name)
    return _rows_table(rows)


def _table_source(table: pa.Table) -> pa.Table:
    """A people table as the canonical text columns (former names '' when absent)."""
    missing = [c for c in PEOPLE_COLUMNS_WITHOUT_FORMER if c not in table.column_names]
    if missing:
        raise UsageError(f"people table lacks columns: {', '.join(missing)}")
    cols = {}
    for c in PERSON_COLUMNS:
        if c in table.column_names:
            cols[c] = pc.fill_null(table.column(c).cast(pa.string()), "")
        else:
            cols[c] = pa.array([""] * table.num_rows, pa.string())
    return pa.table(cols)


def _check_table(table: pa.Table) -> pa.Table:
    """A people table checked row by row (`sources.csv` rules); rows are numbered from 1."""
    rows: list[PersonRow] = []
    errors: list[RecordError] = []
    seen: set[str] = set()
    for i, values in enumerate(table.to_pylist(), start=1):
        try:
            row = check_person(PersonRow(**values), i)
        except RecordError as err:
            errors.append(err.in_file("people table"))
            continue
        if row.ssn in seen:
            errors.append(RecordError("SSN appears twice", line=i, field="ssn"))
        seen.add(row.ssn)
        rows.append(row)
    if errors:
        raise FileRejected(errors[:MAX_LISTED_PROBLEMS], file="people table")
    return _rows_table(rows)


def _stage(
    store: Store, source: Path | pa.Table, progress: StepProgress | None
) -> tuple[int, bool]:
    """Stage `source` in `_STAGE`, every row checked; FileRejected when any is bad.

    Also whether no staged value holds a character JSON escapes (`person_body_sql`'s
    `plain`): the check looks for those first, and only when it finds one for the
    characters that make a row odd."""
    name = source.name if isinstance(source, Path) else "people table"
    n: int | None = None
    if isinstance(source, Path):
        columns = _header_columns(source)
        if columns is not None:
            n = store.stage_csv(_STAGE, source, columns)
            if n is not None and columns != PERSON_COLUMNS:
                store.reader().execute(
                    f"ALTER TABLE {_STAGE} ADD COLUMN former_names VARCHAR DEFAULT ''"
                )
    else:
        n = store.stage_arrow(_STAGE, _table_source(source))
    if n is not None:
        if progress:
            progress("read", n)
        bad, twice = store.reader().fetchall(
            f"SELECT count(*) FILTER (WHERE NOT coalesce({_clean_sql(store, _ESCAPED)}, false)),"
            f" count(*) - count(DISTINCT ssn) FROM {_STAGE}"
        )[0]
        plain = not bad
        if bad:
            bad = store.reader().fetchall(
                f"SELECT count(*) FILTER (WHERE NOT coalesce({_clean_sql(store)}, false)) "
                f"FROM {_STAGE}"
            )[0][0]
        if not bad and twice:
            lines = store.reader().fetchall(
                f"SELECT rid FROM (SELECT rid, row_number() OVER (PARTITION BY ssn ORDER BY rid) "
                f"AS k FROM {_STAGE}) t WHERE k > 1 ORDER BY rid LIMIT {MAX_LISTED_PROBLEMS}"
            )
            store.drop_stage(_STAGE)
            first = 2 if isinstance(source, Path) else 1
            raise FileRejected(
                [
                    RecordError(
                        "SSN appears twice in the file", line=int(r[0]) + first, field="ssn"
                    ).in_file(name)
                    for r in lines
                ],
                file=name,
            )
        if not bad:
            if progress:
                progress("check", n)
            return n, plain
        store.drop_stage(_STAGE)
    # not clean as staged: the record-by-record rules decide (and name what is wrong)
    table = _read_checked(source) if isinstance(source, Path) else _check_table(source)
    if progress:
        progress("read", table.num_rows)
    return store.stage_arrow(_STAGE, table), False


def load_people_file(
    store: Store,
    source: Path | pa.Table,
    *,
    commit_size: int = 1_000_000,
    progress: StepProgress | None = None,
) -> PeopleResult:
    """Register every new person of a canonical people CSV (or Arrow table); all or nothing.

    `progress(step, rows)` is told of the rows read, checked, and committed.
    """
    if isinstance(source, Path) and not source.exists():
        raise UsageError("no such file", file=source.name)
    name = source.name if isinstance(source, Path) else "people table"
    with store.transaction() as tx:
        n, plain = _stage(store, source, progress)
        known = int(
            tx.fetchall(
                f"SELECT count(*) FROM {_STAGE} s WHERE EXISTS "
                "(SELECT 1 FROM persons p WHERE p.ssn = s.ssn)"
            )[0][0]
        )
        src = _STAGE
        if known:
            src = _NEW
            store.drop_stage(_NEW)
            tx.execute(
                f"CREATE TEMP TABLE {_NEW} AS SELECT row_number() OVER (ORDER BY rid) - 1 AS rid, "
                f"{', '.join(PERSON_COLUMNS)} FROM {_STAGE} s WHERE NOT EXISTS "
                "(SELECT 1 FROM persons p WHERE p.ssn = s.ssn)"
            )
            if store.indexed_joins:  # a row store reads each commit's rows by rid
                tx.execute(f"CREATE INDEX ON {_NEW} (rid)")
        base = int(tx.fetchall("SELECT coalesce(max(person_id), 0) + 1 FROM persons")[0][0])
        cols = ", ".join(PERSON_COLUMNS)

        def on_chunk(t: Tx, lo: int, hi: int, first_seq: int) -> None:
            t.execute(
                f"INSERT INTO persons (person_id, {cols}, registered_seq) "
                f"SELECT rid + {base}, {cols}, rid + {first_seq - lo} "
                f"FROM {src} WHERE rid >= {lo} AND rid < {hi}"
            )

        infos = store.append_staged(
            src,
            n - known,
            event_type=PersonRegistered.type,
            subject_sql=f"rid + {base}",
            body_sql=person_body_sql(f"rid + {base}", plain=plain),
            note=f"people {name}",
            chunk=commit_size,
            on_chunk=on_chunk,
            progress=(lambda k: progress("commit", k)) if progress else None,
        )
        store.drop_stage(_NEW)
        store.drop_stage(_STAGE)
    return PeopleResult(n - known, known, len(infos), base)
