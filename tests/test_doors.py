"""One batch of adversarial reports through every door, backend and engine (issue 13).

The library call, the command line, the HTTP API and VRDR messages hand reports to the one
intake pipeline; on DuckDB and on PostgreSQL; with the exact rule, the model on DuckDB and
the model on Spark. Each report must get the same outcome and person at every door and on
every backend, the model the same on both engines, and none of the protected people (a man
whose SSN a stranger's report carries, a junior, a twin, a child, namesakes without an SSN)
may be listed dead by any of them.

One more case rides in every run: a void after an upgrade. A funeral home's report posts a P
death; the state's record of it (a VRDR submission) makes it V; the state then voids that
record (a VRDR void: a CSV cannot carry one), and the death falls back to P (`post`'s
`decide_withdrawal`). The state's messages follow each door's own report file through the
same door, submission and void in one file, so the runs stay as many as before.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import pytest

from vitalfile.db import open_store
from vitalfile.events import DeathPosted, DeathUpdated, PersonRegistered
from vitalfile.intake.pipeline import intake_for
from vitalfile.intake.reports import ingest_file
from vitalfile.ledger.store import Store
from vitalfile.sources.csv import REPORT_COLUMNS
from vitalfile.sources.vrdr_common import VrdrReport
from vitalfile.sources.vrdr_write import write_message

PG_URL = os.environ.get("VITALFILE_TEST_PG_URL", "")
DOD = "2026-10-01"

# person id -> (ssn, first, last, suffix, dob, sex, state)
PEOPLE = {
    1: ("301224411", "JOHN", "HARTWELL", "", "1950-03-14", "M", "OH"),
    2: ("302335501", "ROBERT", "KINGSLEY", "SR", "1941-05-20", "M", "PA"),
    3: ("302335502", "ROBERT", "KINGSLEY", "JR", "1969-08-11", "M", "PA"),
    4: ("303446601", "ELLEN", "ABERNATHY", "", "1980-10-10", "F", "GA"),
    5: ("303446602", "EVAN", "ABERNATHY", "", "1980-10-10", "M", "GA"),
    6: ("304557701", "OLIVER", "FENWICKE", "", "2012-04-09", "M", "VT"),
    7: ("305668801", "JAMES", "MORALES", "", "1962-01-15", "M", "TX"),
    8: ("305668802", "JAMES", "MORALES", "", "1962-01-15", "M", "CA"),
    9: ("306779912", "WILLIAM", "PRENDERGAST", "", "1944-02-03", "M", "NY"),
    10: ("307881234", "GRETCHEN", "OYELARAN", "", "1944-03-08", "F", "MN"),
    11: ("308992345", "WILLIAM", "BRACKENRIDGE", "", "1939-11-21", "M", "WA"),
    12: ("309113456", "ANNA", "KOWALCZYK", "", "1950-11-24", "F", "IL"),
    13: ("310224567", "MARGARET", "TOLLIVER", "", "1938-06-02", "F", "OR"),
}
# the people no report may list dead: every report naming them is about someone else
PROTECTED = {1, 3, 4, 6, 7, 8}

# case -> (source kind, ssn, first, last, suffix, dob, sex, death state)
CASES = {
    # a man's SSN, surname and birth date, but a woman's first name and sex (issue 13)
    "relative": ("funeral_home", "301224411", "MARY", "HARTWELL", "", "1950-03-14", "F", "OH"),
    "relative-state": ("state", "301224411", "MARY", "HARTWELL", "", "1950-03-14", "F", "OH"),
    # the junior's SSN on the senior's report
    "junior-ssn": ("family", "302335502", "ROBERT", "KINGSLEY", "SR", "1941-05-20", "M", "PA"),
    # a twin reported with the other twin's SSN
    "twin": ("state", "303446601", "EVAN", "ABERNATHY", "", "1980-10-10", "M", "GA"),
    # a 14-year-old's lone report from a family
    "child": ("family", "304557701", "OLIVER", "FENWICKE", "", "2012-04-09", "M", "VT"),
    # a bank names one of two namesakes born the same day, no SSN, in either's state
    "namesake-ca": ("financial", "", "JAMES", "MORALES", "", "1962-01-15", "M", "CA"),
    "namesake-tx": ("financial", "", "JAMES", "MORALES", "", "1962-01-15", "M", "TX"),
    # ordinary errors a state's record carries
    "swapped-digits": ("state", "306779921", "WILLIAM", "PRENDERGAST", "", "1944-02-03", "M", "NY"),
    "day-month": ("state", "307881234", "GRETCHEN", "OYELARAN", "", "1944-08-03", "F", "MN"),
    "nickname": ("state", "308992345", "BILL", "BRACKENRIDGE", "", "1939-11-21", "M", "WA"),
    "clean": ("state", "309113456", "ANNA", "KOWALCZYK", "", "1950-11-24", "F", "IL"),
    # a funeral home's report (P), upgraded to V by the state's record, which is then voided
    "upgraded": ("funeral_home", "310224567", "MARGARET", "TOLLIVER", "", "1938-06-02", "F", "OR"),
}
STATE_CASES = [k for k, v in CASES.items() if v[0] == "state"]
UPGRADE, UPGRADED_PERSON, UPGRADE_CERT = "upgraded", 13, "000099"
UPGRADE_STATE = "upgraded-state"  # the state's record of the same death, later voided
Outcomes = dict[str, tuple[str, int | None]]
# what a door leaves: each report's outcome, who is dead, the upgraded death's proof history
Seen = tuple[Outcomes, set[int], list[str]]


def _people() -> list[PersonRegistered]:
    return [
        PersonRegistered(
            person_id=pid, ssn=s, first_name=f, last_name=ln, suffix=sx, dob=d, sex=g, state=st
        )
        for pid, (s, f, ln, sx, d, g, st) in PEOPLE.items()
    ]


def _csv(path: Path, cases: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REPORT_COLUMNS)
        for name in cases:
            kind, ssn, first, last, suffix, dob, sex, state = CASES[name]
            w.writerow([name, kind, "doors", ssn, first, "", last, suffix, dob, DOD, sex, state,
                        "2026-10-05"])  # fmt: skip
    return path


def _cert(name: str) -> str:
    return f"{STATE_CASES.index(name) + 1:06d}"


def _message(name: str, cert: str, kind: Literal["submission", "void"] = "submission") -> str:
    _, ssn, first, last, suffix, dob, sex, state = CASES[name]
    rec = VrdrReport(
        record_id=f"2026{state}{cert}",
        jurisdiction=state,
        cert_no=cert,
        death_year=2026,
        message_kind=kind,
        message_id=f"msg-{kind}-{name}",
        first_name=first,
        last_name=last,
        suffix=suffix,
        ssn=ssn,
        dob=dob,
        dod=DOD,
        sex=sex,
        death_state=state,
    )
    return json.dumps(write_message(rec))


def _vrdr(path: Path, *, cases: bool = True) -> Path:
    """The state cases' submissions (unless `cases` is False), then the state's record of the
    upgraded death and its void."""
    lines = [_message(name, _cert(name)) for name in STATE_CASES] if cases else []
    lines += [_message(UPGRADE, UPGRADE_CERT), _message(UPGRADE, UPGRADE_CERT, "void")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def _fresh(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "duckdb":
        yield str(tmp / "doors.duckdb")
        return
    from vitalfile.ledger.postgres import create_schema, drop_schema, with_schema

    schema = create_schema(PG_URL)
    try:
        yield with_schema(PG_URL, schema)
    finally:
        drop_schema(PG_URL, schema)


def _seen(store: Store) -> Seen:
    rows = store.query("SELECT report_id, status, person_id FROM reports ORDER BY report_id")
    by_cert = {_cert(n): n for n in STATE_CASES} | {UPGRADE_CERT: UPGRADE_STATE}
    out: Outcomes = {}
    for rid, status, pid in rows:
        name = str(rid) if str(rid) in CASES else by_cert[str(rid)[-6:]]
        out[name] = (str(status), int(pid) if pid is not None and status == "linked" else None)
    dead = {int(r[0]) for r in store.query("SELECT person_id FROM deaths WHERE status = 'current'")}
    proofs = [
        str(se.event.proof)
        for se in store.iter_events(subject=UPGRADED_PERSON)
        if isinstance(se.event, DeathPosted | DeathUpdated)
    ]
    return out, dead, proofs


# ── the doors ─────────────────────────────────────────────────────────────────────────
def _library(url: str, tmp: Path, linker: str, engine: str) -> Seen:
    store = open_store(url)
    intake = intake_for(linker, engine=engine)
    try:
        store.append(_people())
        ingest_file(store, _csv(tmp / "r.csv", list(CASES)), source_kind="state",
                    source_id="doors", linker=intake)  # fmt: skip
        ingest_file(store, _vrdr(tmp / "m.ndjson", cases=False), source_kind="state",
                    source_id="", linker=intake)  # fmt: skip
        return _seen(store)
    finally:
        intake.close()
        store.close()


def _cli(url: str, tmp: Path, linker: str, engine: str) -> Seen:
    from vitalfile.cli import main

    store = open_store(url)
    store.append(_people())
    store.close()
    old = os.environ.get("VITALFILE_DB")
    os.environ["VITALFILE_DB"] = url
    try:
        for path in (_csv(tmp / "r.csv", list(CASES)), _vrdr(tmp / "m.ndjson", cases=False)):
            code = main(["ingest", str(path), "--source-kind", "state", "--linker", linker,
                         "--engine", engine])  # fmt: skip
            assert code == 0, path.name
    finally:
        if old is None:
            os.environ.pop("VITALFILE_DB", None)
        else:
            os.environ["VITALFILE_DB"] = old
    store = open_store(url)
    try:
        return _seen(store)
    finally:
        store.close()


def _api(url: str, tmp: Path, linker: str, engine: str) -> Seen:
    from fastapi.testclient import TestClient

    from vitalfile.api import ApiSettings, create_app
    from vitalfile.disclosure.access import create_key

    store = open_store(url)
    store.append(_people())
    token = create_key(store, role="intake", label="doors")[1]
    store.close()
    os.environ["VITALFILE_LINKER"], os.environ["VITALFILE_ENGINE"] = linker, engine
    try:
        settings = ApiSettings(db=url, work_dir=tmp / "work", key_path=tmp / "none.pem")
        sent = (
            (_csv(tmp / "r.csv", list(CASES)), "text/csv"),
            (_vrdr(tmp / "m.ndjson", cases=False), "application/x-ndjson"),
        )
        with TestClient(create_app(settings)) as client:
            for path, media in sent:
                res = client.post(
                    "/v1/reports",
                    params={"source_kind": "state", "source_id": "doors"},
                    content=path.read_bytes(),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": media},
                )
                assert res.status_code == 200, res.text
    finally:
        os.environ.pop("VITALFILE_LINKER", None)
        os.environ.pop("VITALFILE_ENGINE", None)
    store = open_store(url)
    try:
        return _seen(store)
    finally:
        store.close()


def _vrdr_door(url: str, tmp: Path, linker: str, engine: str) -> Seen:
    store = open_store(url)
    intake = intake_for(linker, engine=engine)
    try:
        store.append(_people())
        # the funeral home's report has no VRDR form: it comes first, as a file of reports
        ingest_file(store, _csv(tmp / "r.csv", [UPGRADE]), source_kind="state",
                    source_id="doors", linker=intake)  # fmt: skip
        ingest_file(store, _vrdr(tmp / "m.ndjson"), source_kind="state", source_id="",
                    linker=intake)  # fmt: skip
        return _seen(store)
    finally:
        intake.close()
        store.close()


DOORS: dict[str, Callable[[str, Path, str, str], Seen]] = {
    "library": _library,
    "cli": _cli,
    "api": _api,
    "vrdr": _vrdr_door,
}
BACKENDS = ["duckdb", "postgres"] if PG_URL else ["duckdb"]


def _run_everywhere(tmp_path: Path, linker: str) -> dict[tuple[str, str], Outcomes]:
    seen: dict[tuple[str, str], Outcomes] = {}
    for backend in BACKENDS:
        for door, run in DOORS.items():
            work = tmp_path / f"{backend}-{door}"
            work.mkdir()
            with _fresh(backend, work) as url:
                outcomes, dead, proofs = run(url, work, linker, "duckdb")
            assert not dead & PROTECTED, (backend, door, sorted(dead & PROTECTED))
            # the void after an upgrade: P, made V by the state's record, back to P when voided
            assert proofs == ["P", "V", "P"], (backend, door, proofs)
            assert UPGRADED_PERSON in dead, (backend, door)
            seen[(backend, door)] = outcomes
    return seen


def _assert_the_same(seen: dict[tuple[str, str], Outcomes]) -> Outcomes:
    base = seen[("duckdb", "library")]
    assert set(base) == {*CASES, UPGRADE_STATE}
    for where, outcomes in seen.items():
        every = [*CASES, UPGRADE_STATE]
        cases = [*STATE_CASES, UPGRADE, UPGRADE_STATE] if where[1] == "vrdr" else every
        assert {c: outcomes[c] for c in cases} == {c: base[c] for c in cases}, where
    return base


def _assert_protected(base: Outcomes) -> None:
    for name in ("relative", "relative-state", "child", "namesake-ca", "namesake-tx"):
        assert base[name][0] == "held", name
    assert base["junior-ssn"][1] != 3
    assert base["twin"][1] != 4
    assert base["clean"] == ("linked", 12)
    assert base[UPGRADE] == ("linked", UPGRADED_PERSON)
    assert base[UPGRADE_STATE][0] == "voided"


@pytest.mark.slow
def test_the_rule_decides_the_same_at_every_door_and_holds(tmp_path: Path) -> None:
    base = _assert_the_same(_run_everywhere(tmp_path, "rule"))
    _assert_protected(base)
    # the rule links exact records only; the holds still apply to what it proposes
    assert base["swapped-digits"][0] == "unlinked"


@pytest.mark.slow
def test_the_model_decides_the_same_at_every_door_and_holds(tmp_path: Path) -> None:
    base = _assert_the_same(_run_everywhere(tmp_path, "splink"))
    _assert_protected(base)
    for name, pid in (("swapped-digits", 9), ("day-month", 10), ("nickname", 11)):
        assert base[name] == ("linked", pid), name


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_the_model_on_spark_decides_as_on_duckdb(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with _fresh("duckdb", tmp_path / "a") as url:
        on_duckdb = _library(url, tmp_path / "a", "splink", "duckdb")
    with _fresh("duckdb", tmp_path / "b") as url:
        on_spark = _library(url, tmp_path / "b", "splink", "spark")
    assert on_spark[0] == on_duckdb[0] and on_spark[2] == on_duckdb[2] == ["P", "V", "P"]
    dead = on_spark[1]
    assert not dead & PROTECTED


def test_the_default_linker_is_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from vitalfile.errors import ConfigError
    from vitalfile.link.rule import RuleLinker
    from vitalfile.link.splink_linker import SplinkLinker

    monkeypatch.delenv("VITALFILE_LINKER", raising=False)
    assert isinstance(intake_for().linker, SplinkLinker)
    assert isinstance(intake_for("rule").linker, RuleLinker)
    with pytest.raises(ConfigError):
        intake_for("fuzzy")
