"""Registering millions of people set-wise inside DuckDB (the bulk twin of `people.py`).

`person.registered` events are rendered by SQL with the same canonical JSON as
`PersonRegistered.to_json` (cross-checked by a test), hashed per commit from Arrow buffers,
and the `persons` rows are written by SQL from the same staged rows. The checks are those of
the people file reader that matter at load: a 9-digit issuable SSN, once; real ISO dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events import PersonRegistered
from vitalfile.ledger.duckdb import DuckDBStore
from vitalfile.ledger.store import Store
from vitalfile.master.projection import PERSON_COLUMNS
from vitalfile.sources.csv import PEOPLE_COLUMNS_WITHOUT_FORMER

__all__ = ["BulkPeopleResult", "load_people_bulk", "person_body_sql"]

MAX_LISTED_PROBLEMS = 1000
_OPTIONAL = frozenset(PERSON_COLUMNS) - frozenset(PEOPLE_COLUMNS_WITHOUT_FORMER)


@dataclass
class BulkPeopleResult:
    registered: int
    commits: int
    first_person_id: int


def person_body_sql(pid: str) -> str:
    """SQL rendering `PersonRegistered(...).to_json()` for the staged row (person id `pid`)."""
    head = f'{{"type":"{PersonRegistered.type}","v":{PersonRegistered.version},"person_id":'
    parts = [f"'{head}' || CAST({pid} AS VARCHAR)"]
    parts += [f"'\"{c}\":' || to_json({c})::VARCHAR" for c in PERSON_COLUMNS]
    return " || ',' || ".join(parts) + " || '}'"


_DATE = (
    "(dob = '' OR (regexp_full_match(dob, '[0-9]{4}-[0-9]{2}-[0-9]{2}') "
    "AND substr(dob, 1, 4) <> '0000' AND substr(dob, 6, 2) <= '12' "
    "AND NOT (substr(dob, 6, 2) = '00' AND substr(dob, 9, 2) <> '00') "
    "AND substr(dob, 9, 2) <= '31' "
    "AND (substr(dob, 6, 2) = '00' OR substr(dob, 9, 2) = '00' "
    "OR TRY_CAST(dob AS DATE) IS NOT NULL)))"
)
_CHECKS: tuple[tuple[str, str, str], ...] = (
    ("ssn", "regexp_full_match(ssn, '[0-9]{9}')", "not a 9-digit SSN"),
    (
        "ssn",
        "NOT (substr(ssn, 1, 3) IN ('000', '666') OR substr(ssn, 1, 1) = '9' "
        "OR substr(ssn, 4, 2) = '00' OR substr(ssn, 6, 4) = '0000' "
        "OR ssn IN ('078051120', '219099999'))",
        "SSN cannot be valid: never issued",
    ),
    ("dob", _DATE, "date of birth is not a YYYY-MM-DD date"),
    ("sex", "sex IN ('M', 'F', 'U', '')", "sex is not M, F, U or empty"),
)


def _stage_source(
    source: Path | pa.Table, columns: tuple[str, ...] = PERSON_COLUMNS
) -> tuple[str, pa.Table | None]:
    """The SELECT staging `source` (its `columns`); a column it lacks (former names) is ''."""
    if isinstance(source, pa.Table):
        required = [c for c in PERSON_COLUMNS if c not in _OPTIONAL]
        missing = [c for c in required if c not in source.column_names]
        if missing:
            raise UsageError(f"people table lacks columns: {', '.join(missing)}")
        columns = tuple(c for c in PERSON_COLUMNS if c in source.column_names)
    cols = ", ".join(
        f"coalesce(CAST({c} AS VARCHAR), '') AS {c}" if c in columns else f"'' AS {c}"
        for c in PERSON_COLUMNS
    )
    if isinstance(source, pa.Table):
        return f"SELECT {cols} FROM __people_src", source.select(list(columns))
    path = str(source).replace("'", "''")
    types = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns) + "}"
    return (
        f"SELECT {cols} FROM read_csv('{path}', header=true, columns={types}, "
        "auto_detect=false, quote='\"', escape='\"', strict_mode=true)",
        None,
    )


def load_people_bulk(
    store: Store,
    source: Path | pa.Table,
    *,
    commit_size: int = 1_000_000,
    progress: Callable[[str, int], None] | None = None,
) -> BulkPeopleResult:
    """Register every person of a canonical people CSV (or Arrow table); all or nothing."""
    if not isinstance(store, DuckDBStore):
        raise UsageError("the bulk people load runs on the DuckDB store; load there, then copy")
    name = source.name if isinstance(source, Path) else "people table"
    if isinstance(source, Path):
        if not source.exists():
            raise UsageError("no such file", file=name)
        with source.open("r", encoding="utf-8") as fh:
            header = fh.readline().rstrip("\r\n")
        headers = {",".join(c): c for c in (PERSON_COLUMNS, PEOPLE_COLUMNS_WITHOUT_FORMER)}
        if header not in headers:
            raise FileRejected(
                [RecordError("header is not the canonical people header", line=1)], file=name
            )
        select, table = _stage_source(source, headers[header])
    else:
        select, table = _stage_source(source)
    with store.transaction() as tx:
        if table is not None:
            store.con.register("__people_src", table)
        try:
            tx.execute(
                "CREATE OR REPLACE TEMP TABLE __people_stage AS SELECT "
                "(row_number() OVER ()) - 1 AS rid, * FROM (" + select + ")"
            )
        finally:
            if table is not None:
                store.con.unregister("__people_src")
        n = int(tx.fetchall("SELECT count(*) FROM __people_stage")[0][0])
        if progress:
            progress("read", n)
        cases = " ".join(
            f"WHEN NOT coalesce({cond}, false) THEN '{field}|{msg}'" for field, cond, msg in _CHECKS
        )
        bad = tx.fetchall(
            f"SELECT rid + 2, problem FROM (SELECT rid, CASE {cases} ELSE NULL END AS problem "
            f"FROM __people_stage) WHERE problem IS NOT NULL ORDER BY rid "
            f"LIMIT {MAX_LISTED_PROBLEMS}"
        )
        bad += tx.fetchall(
            "SELECT min(rid) + 2, 'ssn|SSN appears twice in the file' FROM __people_stage "
            "GROUP BY ssn HAVING count(*) > 1 UNION ALL "
            "SELECT s.rid + 2, 'ssn|SSN already on file' FROM __people_stage s "
            f"SEMI JOIN persons p ON s.ssn = p.ssn ORDER BY 1 LIMIT {MAX_LISTED_PROBLEMS}"
        )
        if bad:
            problems = []
            for line, text in sorted(bad)[:MAX_LISTED_PROBLEMS]:
                field, msg = str(text).split("|", 1)
                problems.append(RecordError(msg, line=int(line), field=field, file=name))
            raise FileRejected(problems, file=name)
        base = int(tx.fetchall("SELECT coalesce(max(person_id), 0) + 1 FROM persons")[0][0])
        tx.execute(
            "CREATE OR REPLACE TEMP TABLE __people_events AS "
            f"SELECT rid, rid + {base} AS subject, {person_body_sql(f'rid + {base}')} AS body "
            "FROM __people_stage ORDER BY rid"
        )

        def on_chunk(t: object, lo: int, hi: int, first_seq: int) -> None:
            tx.execute(
                f"INSERT INTO persons (person_id, {', '.join(PERSON_COLUMNS)}, registered_seq) "
                f"SELECT rid + ?, {', '.join(PERSON_COLUMNS)}, ? + rid - ? "
                "FROM __people_stage WHERE rid >= ? AND rid < ? ORDER BY rid",
                [base, first_seq, lo, lo, hi],
            )

        infos = store.append_staged(
            "__people_events",
            n,
            event_type="person.registered",
            note=f"people {name}",
            chunk=commit_size,
            on_chunk=on_chunk,
            progress=(lambda k: progress("commit", k)) if progress else None,
        )
        tx.execute("DROP TABLE __people_events")
        tx.execute("DROP TABLE __people_stage")
    return BulkPeopleResult(registered=n, commits=len(infos), first_person_id=base)
