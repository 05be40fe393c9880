"""`vitalfile demo`: the whole system on synthetic data, told step by step in plain words.

Makes a population and two months of reports, takes them in through the one intake pipeline
(with a child's lone report and a relative's SSN slipped in: both held), sends files to a
federal, a certified and a public recipient, retracts a living person's mistaken death and
sends the correction to exactly the recipients that had it, keeps a determination out of
every death file, refuses a bulk request for addresses, and verifies the ledger against a
signed checkpoint. It ends with how to open the console on the demo's database and writes
`summary.html` with the dashboard's charts. Everything happens inside one folder; no
personal data is printed.
"""

from __future__ import annotations

import csv
import html
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vitalfile.cases.decide import decide
from vitalfile.cases.determinations import DeterminationIn, submit_determinations
from vitalfile.cases.framework import open_dispute
from vitalfile.dates import age_on
from vitalfile.db import open_store
from vitalfile.disclosure.access import create_key
from vitalfile.disclosure.corrections import pending_corrections
from vitalfile.disclosure.deliveries import delivered_deaths
from vitalfile.disclosure.extracts import extract_full, extract_update
from vitalfile.disclosure.policy import FIELDS, add_agreement, add_recipient
from vitalfile.disclosure.requests import RequestIn, submit_requests
from vitalfile.errors import ChainBroken
from vitalfile.intake.people import load_people_file
from vitalfile.intake.pipeline import intake_for
from vitalfile.intake.reports import IngestResult, ingest_file
from vitalfile.ledger.checkpoint import init_key, load_private_key, make_checkpoint
from vitalfile.ledger.store import Store, utc_now_text
from vitalfile.ledger.verify import verify_ledger
from vitalfile.master.lookup import first_ssns, living_born_before, report_statuses
from vitalfile.overview import charts, figures
from vitalfile.sources.csv import REPORT_COLUMNS, ReportRow, read_reports, write_reports

__all__ = ["DemoSummary", "run_demo"]

TIERS = {"fed": "federal", "bank": "certified", "pub": "public"}


@dataclass
class DemoSummary:
    people: int = 0
    reports_in: int = 0
    linked: int = 0
    held: int = 0
    unlinked: int = 0
    posted_v: int = 0
    posted_p: int = 0
    corroborated: int = 0
    full_records: dict[str, int] = field(default_factory=dict)
    update_records: int = 0
    protected_held: int = 0
    correction_seconds: float = 0.0
    corrected_recipients: list[str] = field(default_factory=list)
    requests_refused: int = 0
    determination_in_death_files: int = 0
    events: int = 0
    commits: int = 0
    story: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)

    def add(self, r: IngestResult) -> None:
        self.reports_in += r.received
        self.linked += r.linked
        self.held += r.held
        self.unlinked += r.unlinked
        self.posted_v += r.posted_v
        self.posted_p += r.posted_p
        self.corroborated += r.corroborated

    def table(self) -> Table:
        t = Table(title="vitalfile demo", show_header=True)
        t.add_column("figure")
        t.add_column("value", justify="right")
        for label, value in (
            ("people registered", self.people),
            ("reports in", self.reports_in),
            ("linked", self.linked),
            ("held for review", self.held),
            ("unlinked", self.unlinked),
            ("deaths posted V (verified)", self.posted_v),
            ("deaths posted P (proof not verified)", self.posted_p),
            ("reports adding to a death on file", self.corroborated),
            *((f"full file to {r} ({TIERS[r]})", n) for r, n in self.full_records.items()),
            ("update file records", self.update_records),
            ("seconds from dispute to corrections delivered", f"{self.correction_seconds:.2f}"),
            ("ledger events / commits", f"{self.events:,} / {self.commits:,}"),
        ):
            t.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
        for step, secs in self.steps.items():
            t.add_row(f"seconds: {step}", f"{secs:.1f}")
        return t

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _split_months(reports: Path, out_dir: Path) -> list[Path]:
    rows = [r for r in read_reports(reports) if isinstance(r, ReportRow)]
    months = sorted({r.reported_at[:7] for r in rows})
    paths = []
    for month in months:
        p = out_dir / f"reports-{month}.csv"
        write_reports([r for r in rows if r.reported_at[:7] == month], p)
        paths.append(p)
    return paths


def _people_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _adversarial(people: Path, out: Path, today: date) -> tuple[Path, list[str]]:
    """Two reports the holds must stop: a family's lone report of a child's death, and a
    funeral home's report with a man's SSN, surname and birth date but a woman's first name."""
    rows = _people_rows(people)
    child = next(p for p in rows if (age_on(p["dob"], today) or 99) < 14)
    man = next(p for p in rows if p["sex"] == "M" and p["first_name"] != "MARY")
    dod = date(today.year, today.month, 1).isoformat()
    lines = [
        ("child-1", "family", child, child["first_name"], child["sex"]),
        ("relative-1", "funeral_home", man, "MARY", "F"),
    ]
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REPORT_COLUMNS)
        for rid, kind, p, first, sex in lines:
            w.writerow(
                [
                    rid,
                    kind,
                    "demo-adversarial",
                    p["ssn"],
                    first,
                    "",
                    p["last_name"],
                    "",
                    p["dob"],
                    dod,
                    sex,
                    p["state"],
                    dod,
                ]
            )
    return out, [f"demo-adversarial/{rid}" for rid, *_ in lines]


def run_demo(
    workdir: Path, *, people: int = 100_000, seed: int = 1, console: Console
) -> DemoSummary:
    from vitalfile.synth import write_synth

    summary = DemoSummary()
    today = date.today()

    @contextmanager
    def step(name: str) -> Iterator[None]:
        console.print(f"[bold]{name}[/bold] …")
        t0 = time.perf_counter()
        yield
        summary.steps[name] = time.perf_counter() - t0

    def say(text: str) -> None:
        summary.story.append(text)
        console.print(f"  {text}", markup=False)

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    data = workdir / "synth"
    with step("synthesise"):
        write_synth(data, people=people, months=2, seed=seed)
        month_files = _split_months(data / "reports.csv", data)
        say(f"a synthetic population of {people:,} and two months of reports from every source")
    key_path = workdir / "keys" / "keeper.pem"
    init_key(key_path)
    key = load_private_key(key_path)
    store = open_store(str(workdir / "vitalfile.duckdb"))
    try:
        with step("register people"):
            summary.people = load_people_file(store, data / "people.csv").registered
            say(f"{summary.people:,} people registered on the file")
        intake = intake_for("splink")  # the trained model and the holds, as every door
        with step("take in month 1"):
            r = ingest_file(
                store, month_files[0], source_kind="state", source_id="demo", linker=intake
            )
            summary.add(r)
            say(
                f"{r.received:,} reports taken in: {r.linked:,} linked, {r.held:,} held for a "
                f"person to review, {r.unlinked:,} matched no one; deaths posted: {r.posted_v:,} "
                f"verified (a state's certificate), {r.posted_p:,} unverified"
            )
            path, keys = _adversarial(data / "people.csv", workdir / "adversarial.csv", today)
            summary.add(ingest_file(store, path, source_kind="family", source_id="", linker=intake))
            states = report_statuses(store, keys)
            labels = ("a child's lone report from a family", "a man's SSN on a report for MARY")
            for k, label in zip(keys, labels, strict=True):
                status, reason = states[k]
                summary.protected_held += status == "held"
                say(f"{label}: {status}, not posted ({reason})")
        with step("files to recipients"):
            for rec, tier in TIERS.items():
                add_recipient(store, rec, tier, rec.upper())
                add_agreement(
                    store,
                    f"{rec}-1",
                    rec,
                    purpose="benefit integrity" if tier == "federal" else "fraud prevention",
                    authority="42 USC 1306c" if tier == "federal" else "15 USC 1681",
                    fields=list(FIELDS),
                    start="2019-01-01",
                    end="2099-12-31",
                    determination_kinds=["benefit_ineligible"] if tier == "federal" else [],
                )
                res = extract_full(store, workdir / f"{rec}-full.dmf", recipient=rec, key=key)
                summary.full_records[rec] = res.records
            fed, bank, pub = (summary.full_records[r] for r in TIERS)
            say(
                f"full files: federal {fed:,} deaths; certified {bank:,} ({fed - bank:,} known "
                f"only from states kept out); public {pub:,} (deaths of the last 3 years kept "
                f"out: {bank - pub:,}); each signed, each a delivery on the ledger"
            )
        with step("take in month 2"):
            before = summary.reports_in
            for path in month_files[1:]:
                r = ingest_file(store, path, source_kind="state", source_id="demo", linker=intake)
                summary.add(r)
            res = extract_update(store, workdir / "bank-update-1.dmf", recipient="bank", key=key)
            summary.update_records = res.records
            say(
                f"{summary.reports_in - before:,} more reports; the certified recipient's update: "
                f"{res.records:,} adds, changes and deletes"
            )
        with step("a mistaken death retracted"):
            t0 = time.perf_counter()
            ssn = delivered_deaths(store, "bank", proof="P", limit=1)[0]
            case_id = open_dispute(
                store, ssn, evidence=["in-person identity check #D-1"], opened_by="demo-intake"
            )
            decide(
                store,
                case_id,
                "retract",
                reviewer="demo-reviewer",
                reason="seen alive at the field office",
                finding="erroneous",
            )
            owed = sorted({c.recipient for c in pending_corrections(store)})
            for rec in owed:
                extract_update(store, workdir / f"{rec}-correction.dmf", recipient=rec, key=key)
            left = pending_corrections(store)
            summary.correction_seconds = time.perf_counter() - t0
            summary.corrected_recipients = owed
            say(
                f"a living person disputed their death; a reviewer retracted it; the correction "
                f"went to exactly the recipients that had the death ({', '.join(owed)}) in "
                f"{summary.correction_seconds:.2f} s; still owed: {len(left)}"
            )
        with step("a determination kept apart"):
            living = living_born_before(store, "1990-01-01")[0]
            submit_determinations(
                store,
                [
                    DeterminationIn(
                        ssn=str(living[0]),
                        kind="benefit_ineligible",
                        authority="42 USC 1382",
                        effective_date=today.isoformat(),
                        evidence_ref="demo-1",
                        first_name=str(living[1]),
                        last_name=str(living[2]),
                        dob=str(living[3]),
                    )
                ],
                agency="SSA-demo",
            )
            files = [
                extract_full(store, workdir / f"{rec}-after.dmf", recipient=rec, key=key)
                for rec in TIERS
            ]
            found = sum(
                str(living[0]) in (workdir / f"{rec}-after.dmf").read_text() for rec in TIERS
            )
            summary.determination_in_death_files = found
            say(
                f"a finding about a living person (not eligible for a benefit) was recorded as a "
                f"determination; it appears in {found} of {len(files)} death files"
            )
        with step("a bulk request for addresses"):
            add_recipient(store, "police", "public", "POLICE DEPT")
            add_agreement(
                store,
                "police-req",
                "police",
                kind="request",
                purpose="law enforcement",
                authority="5 USC 552a(b)(7)",
                fields=["address", "city", "state", "zip"],
                start="2019-01-01",
                end="2099-12-31",
                bases=["program_fraud_investigation"],
                case_ref_pattern=r"CASE-\d{4}",
                certifying_official="Chief A. Officer",
            )
            ssns = first_ssns(store, 50)
            res_q = submit_requests(
                store,
                [
                    RequestIn(
                        "police",
                        s,
                        "program_fraud_investigation",
                        "CASE-0001",
                        "Chief A. Officer",
                        i,
                    )
                    for i, s in enumerate(ssns, start=1)
                ],
            )
            summary.requests_refused = res_q.refused
            say(
                f"50 requests for addresses under one case reference: {res_q.refused} refused "
                f"as bulk, {res_q.awaiting_approval} waiting for a supervisor, 0 addresses given; "
                f"every refusal is in the accounting of the person it names"
            )
        with step("sign and verify"):
            head = store.head()
            assert head is not None
            cp = make_checkpoint(head, key, utc_now_text())
            (workdir / "checkpoint.json").write_text(cp.to_json())
            report = verify_ledger(store, cp, key_path)
            if not report.ok:
                raise ChainBroken(report.problems[0])
            summary.events, summary.commits = report.events, report.commits
            say(
                f"the ledger ({report.events:,} events in {report.commits:,} commits) verified "
                f"against the signed checkpoint in checkpoint.json"
            )
        reviewer_key = create_key(store, role="reviewer", label="demo reviewer")[1]
        (workdir / "reviewer.key").write_text(reviewer_key + "\n", encoding="utf-8")
        _write_html(store, workdir / "summary.html", summary)
    finally:
        store.close()
    db = workdir / "vitalfile.duckdb"
    say(
        f"open the console: vitalfile serve --db {db} then http://127.0.0.1:8000/console/ "
        f"and sign in with the reviewer key in {workdir / 'reviewer.key'}"
    )
    say(f"a summary with the dashboard's charts: {workdir / 'summary.html'}")
    return summary


def _write_html(store: Store, path: Path, summary: DemoSummary) -> None:
    """The story and the dashboard's charts (inline SVG) in one self-contained page."""
    by_source = figures.deaths_by_source(store)
    pictures = [
        charts.stacked(
            [(s, [v, p]) for s, v, p in by_source],
            series=["V", "P"],
            title="Deaths posted by source, verified (V) and not (P)",
        ),
        charts.bars(
            [(r, float(n)) for r, n in summary.full_records.items()],
            title="Deaths in each recipient's full file",
        ),
    ]
    groups, weeks = figures.held_by_week(store)
    if groups:
        pictures.append(
            charts.stacked(
                [(w, [float(x) for x in v]) for w, v in weeks],
                series=groups,
                title="Held reports by week and reason",
            )
        )
    items = "".join(f"<li>{html.escape(s)}</li>" for s in summary.story)
    body = "".join(f"<figure>{p}</figure>" for p in pictures)
    path.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>vitalfile demo"
        f"</title></head><body><h1>vitalfile demo</h1><ol>{items}</ol>{body}</body></html>",
        encoding="utf-8",
    )
