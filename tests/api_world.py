"""A small file for the API and console tests: people, deaths of each kind, recipients of
each tier (one with an ended agreement), a held report, and a key per role and recipient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from vitalfile.api import ApiSettings
from vitalfile.db import open_store
from vitalfile.disclosure.access import create_key
from vitalfile.disclosure.policy import FIELDS, add_agreement, add_recipient
from vitalfile.events import NoticeIssued, PersonRegistered, ReportReceived
from vitalfile.intake.reports import ingest_reports
from vitalfile.ledger.store import Store

ROLES = ("intake", "reviewer", "supervisor", "auditor")
RECIPIENTS = {"fed": "federal", "bank": "certified", "pub": "public", "gone": "certified"}
TODAY = date.today()
RECENT = date(TODAY.year - 1, 3, 4).isoformat()


def ssn_of(pid: int) -> str:
    return f"{123450000 + pid:09d}"


def person(pid: int, last: str) -> PersonRegistered:
    return PersonRegistered(
        person_id=pid,
        ssn=ssn_of(pid),
        first_name="ANN",
        last_name=last,
        dob="1950-01-02",
        city="SPRINGFIELD",
        state="IL",
        address="1 MAIN ST",
        zip="62701",
    )


def report(rid: str, pid: int, last: str, kind: str, dod: str, flag: str = "") -> ReportReceived:
    return ReportReceived(
        report_key=f"{kind}/{rid}",
        source_kind=kind,
        source_id=kind,
        report_id=rid,
        ssn=ssn_of(pid),
        ssn_flag=flag,
        first_name="ANN",
        last_name=last,
        dob="1950-01-02",
        dod=dod,
        death_state="IL",
    )


LAST = {1: "STATEONLY", 2: "RECENT", 3: "OLDDEATH", 4: "HELD", 5: "ALIVE", 6: "SPARE"}


@dataclass
class World:
    url: str
    work_dir: Path
    keys: dict[str, str] = field(default_factory=dict)

    def settings(self, **kw: object) -> ApiSettings:
        values: dict[str, object] = {
            "db": self.url,
            "work_dir": self.work_dir,
            "key_path": self.work_dir / "keys" / "keeper.pem",
            "max_upload_bytes": 200_000,
        }
        values.update(kw)
        return ApiSettings(**values)  # type: ignore[arg-type]


def build_world(url: str, work_dir: Path) -> World:
    """Person 1 died recently, known only from a state (federal only); person 2 died recently
    (a funeral home: federal and certified); person 3 died in 2015 (everyone); person 4 has a
    held report; person 5 is alive."""
    w = World(url, work_dir)
    from vitalfile.ledger.checkpoint import init_key

    init_key(work_dir / "keys" / "keeper.pem")  # files and feed pages are signed
    store = open_store(url)
    try:
        store.append([person(pid, last) for pid, last in LAST.items()])
        ingest_reports(
            store,
            [
                report("s1", 1, LAST[1], "state", RECENT),
                report("f2", 2, LAST[2], "funeral_home", RECENT),
                report("f3", 3, LAST[3], "funeral_home", "2015-06-07"),
                report("h4", 4, LAST[4], "family", RECENT, flag="area 000 is never issued"),
            ],
        )
        for rec, tier in RECIPIENTS.items():
            add_recipient(store, rec, tier, rec.upper())
            end = "2099-12-31" if rec != "gone" else "2020-12-31"
            add_agreement(
                store,
                f"{rec}-1",
                rec,
                purpose="benefit integrity" if tier == "federal" else "fraud prevention",
                authority="42 USC 1306c" if tier == "federal" else "15 USC 1681",
                fields=list(FIELDS),
                start="2019-01-01",
                end=end,
                determination_kinds=["benefit_ineligible"] if rec == "fed" else [],
            )
            w.keys[rec] = create_key(store, recipient=rec, label=rec)[1]
        for role in ROLES:
            w.keys[role] = create_key(store, role=role, label=f"{role}-kim")[1]
    finally:
        store.close()
    return w


def noticed_determination(store: Store, pid: int) -> NoticeIssued:
    """An agency's determination about person `pid` (alive), proposed and its notice sent."""
    from vitalfile.cases.determinations import DeterminationIn, submit_determinations
    from vitalfile.cases.window import issue_notice

    item = DeterminationIn(
        ssn=ssn_of(pid),
        kind="benefit_ineligible",
        authority="38 USC 5313",
        effective_date="2025-01-01",
        first_name="ANN",
        last_name=LAST[pid],
        dob="1950-01-02",
    )
    (did,) = submit_determinations(store, [item], agency="VA").ids
    return issue_notice(store, did, method="mail", sent_to=f"{pid} MAIN ST", issued_by="clerk")
