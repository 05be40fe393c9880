"""`vitalfile demo`: the whole path on synthetic data, timed step by step.

Makes a population, registers it, ingests two months of reports from every source kind,
writes a full DMF file after the first month and an update file after the second, signs a
checkpoint and verifies the ledger against it. Everything happens inside one folder.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vitalfile.db import open_store
from vitalfile.disclosure.distribute import extract_full, extract_update
from vitalfile.errors import ChainBroken
from vitalfile.intake.people import load_people_file
from vitalfile.intake.pipeline import intake_for
from vitalfile.intake.reports import IngestResult, ingest_file
from vitalfile.ledger.checkpoint import init_key, make_checkpoint
from vitalfile.ledger.store import utc_now_text
from vitalfile.ledger.verify import verify_ledger
from vitalfile.sources.csv import ReportRow, read_reports, write_reports

__all__ = ["DemoSummary", "run_demo"]


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
    full_records: int = 0
    update_records: int = 0
    events: int = 0
    commits: int = 0
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
            ("full file records", self.full_records),
            ("update file records", self.update_records),
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


def run_demo(
    workdir: Path, *, people: int = 200_000, seed: int = 1, console: Console
) -> DemoSummary:
    from vitalfile.synth import write_synth

    summary = DemoSummary()

    @contextmanager
    def step(name: str) -> Iterator[None]:
        console.print(f"[bold]{name}[/bold] …")
        t0 = time.perf_counter()
        yield
        summary.steps[name] = time.perf_counter() - t0

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    data = workdir / "synth"
    with step("synthesise"):
        write_synth(data, people=people, months=2, seed=seed)
        month_files = _split_months(data / "reports.csv", data)
    store = open_store(str(workdir / "vitalfile.duckdb"))
    try:
        with step("register people"):
            summary.people = load_people_file(store, data / "people.csv").registered
        linker = intake_for("splink")  # the trained model and the holds, as every door uses them
        key_path = workdir / "keys" / "keeper.pem"
        init_key(key_path)
        from vitalfile.ledger.checkpoint import load_private_key

        key = load_private_key(key_path)
        purpose, authority = "demo: the keeper's own file", "demo (synthetic data)"
        for i, path in enumerate(month_files[:2], start=1):
            with step(f"ingest month {i}"):
                summary.add(
                    ingest_file(store, path, source_kind="state", source_id="demo", linker=linker)
                )
            with step(f"extract {'full' if i == 1 else 'update'} file"):
                out = workdir / ("dmf-full.txt" if i == 1 else "dmf-update.txt")
                if i == 1:
                    summary.full_records = extract_full(
                        store, out, key=key, purpose=purpose, authority=authority
                    ).records
                else:
                    summary.update_records = extract_update(
                        store, out, key=key, purpose=purpose, authority=authority
                    ).records
        with step("sign and verify"):
            head = store.head()
            assert head is not None
            cp = make_checkpoint(head, key, utc_now_text())
            (workdir / "checkpoint.json").write_text(cp.to_json())
            report = verify_ledger(store, cp, key_path)
            if not report.ok:
                raise ChainBroken(report.problems[0])
            summary.events, summary.commits = report.events, report.commits
    finally:
        store.close()
    return summary
