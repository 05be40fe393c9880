"""`vitalfile link …`, the explanation of held reports, bulk people, and a tiny training."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from vitalfile.cli import main
from vitalfile.db import open_store
from vitalfile.events import PersonRegistered, ReportReceived
from vitalfile.intake.explain import explain_report, write_chart
from vitalfile.intake.people import load_people_file
from vitalfile.intake.reports import ingest_reports
from vitalfile.link.splink_linker import SplinkLinker
from vitalfile.link.train import parameters_table, train_model
from vitalfile.synth import make_people, make_reports, write_synth

PERSON = dict(ssn="212345678", first_name="GRETCHEN", last_name="OYELARAN", dob="1944-03-08",
              sex="F", state="GA")  # fmt: skip


def _report(key: str, kind: str = "state", **changes: str) -> ReportReceived:
    fields = {**{k: v for k, v in PERSON.items() if k != "state"}, "death_state": "GA"}
    fields.update({"dod": "2026-02-01", **changes})
    return ReportReceived(
        report_key=f"S/{key}", source_kind=kind, source_id="S", report_id=key, **fields
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "vf.duckdb"
    s = open_store(str(path))
    load_people_file(s, make_people(5_000, 9))
    s.append([PersonRegistered(person_id=9_001, **PERSON)])
    ingest_reports(
        s,
        [
            _report("1", dob="1944-08-03"),
            _report("2", kind="family", ssn="", dob="", dod="2026-01-20", sex="M"),
        ],
        linker=SplinkLinker(),
        today=date(2026, 3, 1),
    )
    s.close()
    return path


def test_held_reports_carry_the_explanation(db: Path) -> None:
    s = open_store(str(db))
    rows = s.query("SELECT report_key, status, person_id FROM reports ORDER BY report_key")
    assert rows[0][1:] == ("linked", 9_001)
    assert rows[1][1] == "held"
    held = [e.event for e in s.iter_events(types=["report.held"])]
    assert held and held[0].explanation  # type: ignore[attr-defined]
    assert any("starting point" in line for line in held[0].explanation)  # type: ignore[attr-defined]
    s.close()


def test_explain_prints_plain_words_and_writes_charts(db: Path, tmp_path: Path, capsys) -> None:
    assert main(["--db", str(db), "link", "explain", "S/1"]) == 0
    out = capsys.readouterr().out
    assert "birth date: day and month swapped, +" in out
    assert "starting point" in out and "match probability" in out
    png, html = tmp_path / "w.png", tmp_path / "w.html"
    assert (
        main(["--db", str(db), "link", "explain", "1", "--png", str(png), "--html", str(html)]) == 0
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "vega" in html.read_text(encoding="utf-8").lower()
    capsys.readouterr()
    assert main(["--db", str(db), "link", "explain", "S/1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "linked" and data["person_id"] == 9_001


def test_explain_unknown_report_is_a_clean_error(db: Path) -> None:
    assert main(["--db", str(db), "link", "explain", "nope"]) == 3


def test_explain_library(db: Path) -> None:
    s = open_store(str(db))
    expl = explain_report(s, "S/1", chart=True)
    assert expl.result.person_id == 9_001 and expl.chart is not None
    write_chart(expl, html=db.with_suffix(".html"))
    s.close()


def test_link_help() -> None:
    for cmd in (["link"], ["link", "train"], ["link", "explain"], ["link", "run"]):
        assert main([*cmd, "--help"]) == 0


def test_link_run_ingests_a_file_with_the_model(tmp_path: Path, capsys) -> None:
    write_synth(tmp_path, people=3_000, months=6, seed=4)
    db = str(tmp_path / "r.duckdb")
    s = open_store(db)
    load_people_file(s, tmp_path / "people.csv")
    s.close()
    capsys.readouterr()
    assert main(["--db", db, "link", "run", str(tmp_path / "reports.csv"), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["linked"] > 0


def test_tiny_training_gives_every_level_an_m_and_a_u() -> None:
    people = make_people(20_000, 21)
    reports, _ = make_reports(people, 12, 21)
    model = train_model(people, reports, seed=21, max_pairs=2e5, version="test")
    rows = parameters_table(model)
    assert rows and all(r["m"] > 0 and r["u"] > 0 for r in rows)
    assert model["vitalfile_model_version"] == "test"
