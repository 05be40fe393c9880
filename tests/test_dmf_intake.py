"""The set-wise DMF load in both layouts: pre-2011 fields kept on the event and the person,
trimmed lines and `CARTER,` surnames read as the Python reader reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitalfile.db import open_store
from vitalfile.disclosure.distribute import extract_full
from vitalfile.errors import FileRejected, RecordError, UsageError
from vitalfile.events import DmfRecordLoaded, decode
from vitalfile.intake.dmf_load import check_dmf_full, load_dmf_full
from vitalfile.ledger.store import Store
from vitalfile.sources.dmf import DmfRecord, format_record, parse_line
from vitalfile.ssn import never_issued_reason

NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ -'.", max_size=12).map(str.strip)
ZIP = st.one_of(st.just(""), st.text("0123456789", min_size=5, max_size=5))
STATE = st.one_of(st.just(""), st.sampled_from(["NY", "CA", "TX", "05", "33"]))


@st.composite
def _lines(draw: st.DrawFn) -> list[str]:
    """Good lines of either layout; some trimmed, some with a `CARTER,` surname."""
    raw = draw(st.lists(st.integers(1_001_0001, 665_999_999), min_size=1, max_size=15, unique=True))
    out = []
    for n in sorted(raw):
        ssn = f"{n:09d}"
        if never_issued_reason(ssn) is not None:
            continue
        rec = DmfRecord(
            "",
            ssn,
            draw(NAME),
            draw(st.sampled_from(["", "JR", "III"])),
            draw(NAME),
            draw(NAME),
            draw(st.sampled_from(["", "V", "P"])),
            draw(st.sampled_from(["", "2001-02-00", "1999-12-31", "2010-00-00"])),
            draw(st.sampled_from(["", "1920-05-06", "1931-00-00"])),
            dod_zeros=draw(st.booleans()),
            dob_zeros=draw(st.booleans()),
            residence_state=draw(STATE),
            residence_zip=draw(ZIP),
            lump_sum_zip=draw(ZIP),
        )
        try:
            line = format_record(rec)
        except RecordError:
            continue
        if rec.last_name and len(rec.last_name) < 20 and draw(st.booleans()):
            line = line[:10] + (rec.last_name + ",").ljust(20) + line[30:]
        if draw(st.booleans()):
            line = line.rstrip(" ")
        out.append(line)
    return out


def _snapshot(store: object) -> tuple[object, ...]:
    return tuple(
        store.query(f"SELECT * FROM {t} ORDER BY 1")  # type: ignore[attr-defined]
        for t in ("persons", "deaths")
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_lines())
def test_a_load_keeps_what_the_reader_reads(
    lines: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    if not lines:
        return
    src = tmp_path_factory.mktemp("l") / "full.dmf"
    src.write_text("\n".join(lines) + "\n")
    recs = [parse_line(line, i) for i, line in enumerate(lines, 1)]
    with open_store(":memory:") as store:
        result = load_dmf_full(store, src, commit_size=4)
        assert result.layout == ("1980" if any(r.layout == "1980" for r in recs) else "2011")
        bodies = [b for (b,) in store.query("SELECT body FROM ledger_events ORDER BY seq")]
        events = [decode(b) for b in bodies]
        # the SQL-rendered events are exactly the canonical events
        assert [e.to_json() for e in events] == bodies
        for rec, event, body in zip(recs, events, bodies, strict=True):
            assert isinstance(event, DmfRecordLoaded)
            for field in (
                "ssn", "last_name", "suffix", "first_name", "middle_name", "proof", "dod", "dob",
                "residence_state", "residence_zip", "lump_sum_zip",
            ):  # fmt: skip
                assert getattr(event, field) == getattr(rec, field)
            assert ("residence_state" in body) == (rec.residence_state != "")
            assert event.dod_blank == (rec.dod == "" and not rec.dod_zeros)
            assert event.dob_blank == (rec.dob == "" and not rec.dob_zeros)
        persons = store.query("SELECT ssn, last_name, suffix, state, zip FROM persons ORDER BY 1")
        assert persons == sorted(
            (r.ssn, r.last_name, r.suffix, r.residence_state, r.residence_zip) for r in recs
        )
        before = _snapshot(store)
        store.rebuild()
        assert _snapshot(store) == before
        assert store.verify().ok
        # extracted back as read: unknown dates blank or zeros, either layout
        d = src.parent
        for layout in ("1980", "2011"):
            extract_full(
                store,
                d / f"x{layout}.dmf",
                record=False,
                purpose="round trip",
                authority="test",
                layout=layout,
            )
            want = "".join(format_record(r, layout=layout) + "\n" for r in recs)
            assert (d / f"x{layout}.dmf").read_text() == want


MUTATIONS = st.tuples(st.integers(0, 104), st.sampled_from([*"0A9 x,'-/\t", "", "EXTRA", "TRIM"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=_lines(),
    muts=st.lists(MUTATIONS, max_size=5),
    layout=st.sampled_from([None, "2011", "1980"]),
    data=st.data(),
)
def test_sql_checks_agree_with_the_reader_in_every_layout(
    lines: list[str],
    muts: list[tuple[int, str]],
    layout: str | None,
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if not lines:
        return
    for pos, text in muts:
        i = data.draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if text == "TRIM":
            lines[i] = line[:pos].rstrip(" ")
        elif text == "EXTRA":
            lines[i] = line + "X"
        else:
            lines[i] = line[:pos] + text + line[pos + 1 :]
    src = tmp_path_factory.mktemp("c") / "full.dmf"
    src.write_text("\n".join(lines) + "\n")
    python_bad = set()
    for n, line in enumerate(lines, start=1):
        try:
            if parse_line(line, n, layout).action != "":
                python_bad.add(n)
        except RecordError:
            python_bad.add(n)
    with open_store(":memory:") as store:
        problems = check_dmf_full(store, src, layout)
    assert {p.line for p in problems} == python_bad


def test_a_forced_2011_load_refuses_pre_2011_lines_naming_the_columns(tmp_path: Path) -> None:
    rec = DmfRecord(
        "", "123456789", "DOE", "", "JOHN", "", "V", "2001-01-02", "1930-01-01",
        residence_state="NY", residence_zip="10027",
    )  # fmt: skip
    src = tmp_path / "old.dmf"
    src.write_text(format_record(rec) + "\n")
    with open_store(":memory:") as store:
        with pytest.raises(FileRejected) as info:
            load_dmf_full(store, src, layout="2011")
        assert store.head() is None
        (problem,) = info.value.problems
        assert (problem.line, problem.field) == (1, "filler")
        assert "columns 82-100" in problem.message
        assert "NY" not in str(problem) and "10027" not in str(problem)
        with pytest.raises(UsageError):
            load_dmf_full(store, src, layout="1990")
        result = load_dmf_full(store, src, layout="1980")
        assert (result.records, result.layout) == (1, "1980")
        assert store.query("SELECT state, zip FROM persons") == [("NY", "10027")]


def test_a_2011_event_keeps_its_bytes() -> None:
    event = DmfRecordLoaded(
        person_id=1, ssn="123456789", last_name="DOE", first_name="JOHN", proof="V",
        dod="2001-01-02", dob="1930-01-01",
    )  # fmt: skip
    assert event.to_json() == (
        '{"type":"dmf.record_loaded","v":1,"person_id":1,"ssn":"123456789","last_name":"DOE",'
        '"suffix":"","first_name":"JOHN","middle_name":"","proof":"V","dod":"2001-01-02",'
        '"dob":"1930-01-01"}'
    )
    assert decode(event.to_json()) == event
    old = event.model_copy(update={"lump_sum_zip": "07030"})
    assert json.loads(old.to_json())["lump_sum_zip"] == "07030"
    assert decode(old.to_json()) == old


def test_ingest_reads_trimmed_pre_2011_and_comma_lines_as_the_same_reports(tmp_path: Path) -> None:
    from vitalfile.intake.people import load_people_file
    from vitalfile.intake.reports import ingest_file, read_report_file
    from vitalfile.sources.csv import PersonRow, write_people

    people = tmp_path / "people.csv"
    write_people(
        [
            PersonRow(ssn="123456789", first_name="ANN", last_name="DOE", dob="1940-03-04"),
            PersonRow(
                ssn="223456789", first_name="BOB", last_name="CARTER", suffix="JR", dob="1950-05-06"
            ),
        ],
        people,
    )
    ann = DmfRecord(
        "", "123456789", "DOE", "", "ANN", "", "", "2026-10-01", "1940-03-04",
        residence_state="NY", residence_zip="10027", lump_sum_zip="07030",
    )  # fmt: skip
    bob = DmfRecord("", "223456789", "CARTER", "JR", "BOB", "", "", "2026-10-02", "1950-05-06")
    bob_line = format_record(bob)
    bob_line = bob_line[:10] + "CARTER,".ljust(20) + bob_line[30:]
    trimmed = tmp_path / "trimmed.dmf"
    trimmed.write_text(format_record(ann).rstrip() + "\n" + bob_line.rstrip() + "\n")
    whole = tmp_path / "whole.dmf"
    whole.write_text(format_record(ann) + "\n" + bob_line + "\n")
    got = []
    for f in (trimmed, whole):
        reports, errors = read_report_file(f, source_kind="funeral_home", source_id="FH")
        assert errors == []
        got.append(reports)
    assert got[0] == got[1]  # the same report ids: a trimmed line is the same record
    assert got[0][0].extra == {
        "dmf_residence_state": "NY",
        "dmf_residence_zip": "10027",
        "dmf_lump_sum_zip": "07030",
    }
    assert (got[0][1].last_name, got[0][1].suffix, got[0][1].extra) == ("CARTER", "JR", {})
    with pytest.raises(FileRejected) as info, open_store(":memory:") as store:
        ingest_file(store, trimmed, source_kind="funeral_home", source_id="FH", layout="2011")
    assert [(p.line, p.field) for p in info.value.problems] == [(1, "filler")]
    with open_store(":memory:") as store:
        load_people_file(store, people)
        r = ingest_file(store, trimmed, source_kind="funeral_home", source_id="FH")
        assert (r.received, r.linked) == (2, 2), r


def test_the_cli_load_takes_a_layout(tmp_path: Path) -> None:
    from tests.test_cli import _run

    rec = DmfRecord(
        "", "123456789", "DOE", "", "JOHN", "", "V", "2001-01-02", "1930-01-01",
        residence_state="NY", residence_zip="10027",
    )  # fmt: skip
    src = tmp_path / "old.dmf"
    src.write_text(format_record(rec).rstrip() + "\n")
    r = _run(tmp_path, "load", "--layout", "1990", str(src))
    assert r.returncode == 2 and "unknown DMF layout" in r.stderr
    r = _run(tmp_path, "load", "--layout", "2011", str(src))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "old.dmf:1 field filler: columns 82-100 are not blank" in r.stderr
    assert "10027" not in r.stderr and "123456789" not in r.stderr
    r = _run(tmp_path, "load", str(src))
    assert r.returncode == 0, r.stderr
    assert "loaded 1 records in 1 commits (layout 1980)" in r.stdout


NAMES = [
    "DOE                     JOHN           Q              ",
    "O'BRIEN             JR  MARY ANN                      ",
    "ROE                     BOB                           ",
]
OLD_FILE = [  # as SSA wrote them before November 2011: unknown dates blank or zeros
    " 123456789" + NAMES[0] + "V0100200103151930" + "NY1002707030" + " " * 7,
    " 223456789" + NAMES[1] + "P        00000000" + "  10027     " + " " * 7,
    " 323456789" + NAMES[2] + " 00000000        " + "33     07030" + " " * 7,
]


def test_a_loaded_pre_2011_file_extracts_back_byte_identical(tmp_path: Path) -> None:
    src = tmp_path / "old.dmf"
    src.write_text("\n".join(OLD_FILE) + "\n")
    assert all(len(line) == 100 for line in OLD_FILE)
    with open_store(str(tmp_path / "f.duckdb")) as store:
        load_dmf_full(store, src)
        extract_full(
            store,
            tmp_path / "back.dmf",
            record=False,
            purpose="round trip",
            authority="test",
            layout="1980",
        )
        assert (tmp_path / "back.dmf").read_bytes() == src.read_bytes()
        extract_full(store, tmp_path / "now.dmf", record=False, purpose="p", authority="a")
        assert (tmp_path / "now.dmf").read_text() == "".join(
            line[:81] + " " * 19 + "\n" for line in OLD_FILE
        )
        with pytest.raises(UsageError, match="keeper only"):
            extract_full(store, tmp_path / "b.dmf", recipient="bank", layout="1980")
        with pytest.raises(UsageError, match="keeper only"):
            extract_full(
                store,
                tmp_path / "b.csv",
                fmt="csv",
                record=False,
                purpose="round trip",
                authority="test",
                layout="1980",
            )
        with pytest.raises(UsageError, match="unknown DMF layout"):
            extract_full(
                store,
                tmp_path / "b.dmf",
                record=False,
                purpose="round trip",
                authority="test",
                layout="1990",
            )
        before = _snapshot(store)
        store.rebuild()
        assert _snapshot(store) == before


def test_a_file_made_before_the_pre_2011_fields_gains_their_columns(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE deaths (person_id BIGINT NOT NULL, dod VARCHAR NOT NULL, "
        "proof VARCHAR NOT NULL, sources VARCHAR NOT NULL, report_keys VARCHAR NOT NULL, "
        "state_only BOOLEAN NOT NULL, version INTEGER NOT NULL, status VARCHAR NOT NULL, "
        "changed_seq BIGINT NOT NULL, dmf_names VARCHAR NOT NULL)"
    )
    con.execute("INSERT INTO deaths VALUES (9, '', 'V', 'dmf', '', false, 1, 'current', 0, '')")
    con.close()
    with open_store(str(db)) as store:
        assert store.query("SELECT lump_sum_zip, dod_blank, dob_blank FROM deaths") == [
            ("", False, False)
        ]


def test_both_layouts_load_and_extract_alike_on_every_backend(store: Store, tmp_path: Path) -> None:
    """PostgreSQL and DuckDB keep the pre-2011 fields, blank dates, trimmed and comma lines
    alike, and the keeper's 1980 extract gives the file back on both."""
    comma = " 423456789" + "CARTER,".ljust(20) + "JR  " + "ANN".ljust(30) + " 00000000        "
    lines = [*OLD_FILE, comma.rstrip(), OLD_FILE[0][:1] + "5" + OLD_FILE[0][2:].rstrip()]
    src = tmp_path / "old.dmf"
    src.write_text("\n".join(lines) + "\n")
    queries = [
        "SELECT body FROM ledger_events ORDER BY seq",
        "SELECT * FROM persons ORDER BY person_id",
        "SELECT * FROM deaths ORDER BY person_id",
    ]
    assert load_dmf_full(store, src, commit_size=2).layout == "1980"
    with open_store(str(tmp_path / "ref.duckdb")) as ref:
        load_dmf_full(ref, src)
        for q in queries:
            assert store.query(q) == ref.query(q)
    out = tmp_path / "back.dmf"
    extract_full(store, out, record=False, purpose="p", authority="a", layout="1980")
    want = [format_record(parse_line(line)) for line in lines]
    assert out.read_text().splitlines() == sorted(want, key=lambda line: line[1:10])
    assert out.read_text().splitlines()[:3] == OLD_FILE


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_the_reports_route_takes_a_layout(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`POST /v1/reports?layout=`: detected by default, forced when named, clear when wrong."""
    from fastapi.testclient import TestClient

    from tests.api_world import build_world, ssn_of
    from vitalfile.api import create_app

    if backend == "postgres":
        url = request.getfixturevalue("pg_url")
    else:
        url = str(tmp_path / "api.duckdb")
    world = build_world(url, tmp_path / "work")
    rec = DmfRecord(
        "", ssn_of(5), "ALIVE", "", "ANN", "", "P", "2024-02-03", "1950-01-02",
        residence_state="NY", residence_zip="10027", lump_sum_zip="07030",
    )  # fmt: skip
    body = (format_record(rec, layout="1980").rstrip() + "\n").encode()  # trimmed, pre-2011
    h = {"Authorization": f"Bearer {world.keys['intake']}", "content-type": "text/plain"}
    path = "/v1/reports?source_kind=federal_agency&source_id=va"
    with TestClient(create_app(world.settings())) as client:
        r = client.post(path + "&layout=2011", content=body, headers=h)
        assert r.status_code == 422, r.text
        problem = r.json()["problems"][0]
        assert r.json()["code"] == "file_rejected"
        assert (problem["message"], problem["context"]["field"]) == (
            "columns 82-100 are not blank",
            "filler",
        )
        assert "10027" not in r.text and ssn_of(5) not in r.text
        r = client.post(path + "&layout=1990", content=body, headers=h)
        assert r.status_code == 400 and r.json()["context"] == {"field": "layout"}, r.text
        assert r.json()["message"] == "unknown DMF layout; use one of 2011, 1980"
        csv_h = {**h, "content-type": "text/csv"}
        r = client.post(path + "&layout=1980", content=b"ssn,\n", headers=csv_h)
        assert r.status_code == 400 and r.json()["context"] == {"field": "layout"}, r.text
        assert r.json()["message"] == "layout applies to a DMF file, not to csv"
        r = client.post(path + "&layout=1980", content=body, headers=h)
        assert r.status_code == 200 and r.json()["received"] == 1, r.text
        again = client.post(path, content=body, headers=h)  # detected: the same record
        assert again.status_code == 200 and again.json()["duplicates"] == 1, again.text
