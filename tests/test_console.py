"""The console as people use it, in real headless Chromium (Debian's `chromium`, driven by
Playwright), on DuckDB and PostgreSQL: each role signs in and does its main task, a held
case is decided from the keyboard alone through the confirm step, two reviewers race for
one case, a dispute is retracted, the person on the file opens their record with the code
on their notice; every page is checked with axe-core (no serious or critical violations) and
screenshotted (into build/screenshots, or the folder VITALFILE_SCREENSHOTS names:
`VITALFILE_SCREENSHOTS=docs/screenshots` refreshes the README's).

One Chromium serves both backends; each backend gets one server and one walk through every
role, with no page loaded that a task does not need (the whole file in under two minutes)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.api_world import LAST, World, build_world, noticed_determination, ssn_of
from tests.conftest import BACKENDS, PG_URL
from vitalfile.api import create_app
from vitalfile.cases.framework import open_dispute
from vitalfile.db import open_store
from vitalfile.disclosure.access import create_key
from vitalfile.disclosure.distribute import extract_full
from vitalfile.ledger.checkpoint import init_key, load_private_key
from vitalfile.ledger.verify import checkpoint_now

CHROMIUM = next(
    (p for p in (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium")) if p.exists()),
    Path("/usr/lib/chromium/chromium"),
)
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / os.environ.get("VITALFILE_SCREENSHOTS", "build/screenshots")
pytestmark = [
    # CI installs it (scripts/check) and must not skip; a bare developer machine may
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian chromium is not installed (apt-get install chromium)",
    ),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    # both walks on one xdist worker: one Chromium, and the two never compete for the cores
    pytest.mark.xdist_group("console"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for every walk in this file (a launch takes seconds on a loaded machine)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, World, str, str]]:
    url = (
        str(tmp_path / "console.duckdb")
        if request.param == "duckdb"
        else request.getfixturevalue("pg_url")
    )
    world = build_world(url, tmp_path / "work")
    key_path = tmp_path / "keeper.pem"
    init_key(key_path)
    store = open_store(world.url)
    try:  # two recipients hold person 2's death: a retraction owes both a correction
        for rec in ("fed", "bank"):
            extract_full(store, tmp_path / f"{rec}.txt", recipient=rec)
        cp = checkpoint_now(store, load_private_key(key_path))
        (tmp_path / "work").mkdir(exist_ok=True)
        (tmp_path / "work" / "fed.txt.checkpoint.json").write_text(cp.to_json())
        world.keys["reviewer2"] = create_key(store, role="reviewer", label="reviewer-lee")[1]
        # intake opened a dispute on person 3's death: two reviewers will race for it
        race = open_dispute(store, ssn_of(3), evidence=["a letter"], opened_by="intake-kim")
        # an agency's determination about person 6, with its notice (they may contest it)
        noticed_determination(store, 6)
    finally:
        store.close()
    port = _free_port()
    config = uvicorn.Config(
        create_app(
            world.settings(session_secret="a-test-secret-of-some-length", key_path=key_path)
        ),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", world, request.param, race
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Walk:
    """A browser session that checks every page it opens (axe) and screenshots it."""

    def __init__(self, page: Any, base: str, shots: Path | None, axe: Any | None) -> None:
        self.page, self.base, self.shots, self.axe = page, base, shots, axe
        self.checked: list[str] = []

    def check(self, name: str, *, again: bool = False) -> str:
        """Check the page (axe-core) and screenshot it; `again`: a template already checked
        (axe takes seconds a page), screenshot only."""
        page = self.page
        if self.axe is not None and not again:
            results = self.axe.run(page)
            bad = [
                (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert not bad, f"{name}: {bad}"
        if self.shots is not None:
            page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)
        self.checked.append(name)
        return str(page.inner_text("main"))

    def goto(self, path: str, name: str, *, again: bool = False) -> str:
        self.page.goto(self.base + path)
        return self.check(name, again=again)

    def sign_in(self, key: str) -> None:
        if not self.page.url.endswith("/console/signin"):  # signing out lands there
            self.page.goto(self.base + "/console/signin")
        self.page.fill("#key", key)
        self.page.click("main button[type=submit]")

    def sign_out(self) -> None:
        self.page.click("header >> text=Sign out")


def tab_to(page: Any, name: str) -> None:
    """Press Tab from the top of the page until the field `name` has the focus."""
    page.focus("body")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    pytest.fail(f"{name} cannot be reached with the Tab key")


def test_every_role_does_its_work(
    served: tuple[str, World, str, str], browser: Any, tmp_path: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    base, world, backend, race_case = served
    # the pages are the same templates on either database, so each pass does half the extra
    # work: axe-core runs on the DuckDB pass (1-3 s a page), the screenshots are taken on the
    # PostgreSQL pass (on DuckDB when there is no PostgreSQL to test)
    shots = SHOTS if backend == ("postgres" if PG_URL else "duckdb") else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    axe = Axe() if backend == "duckdb" else None
    staff = browser.new_context(viewport={"width": 1280, "height": 900})
    page = staff.new_page()
    w = Walk(page, base, shots, axe)
    # ── signing in: pages need a session; errors say what is wrong ──────────────
    page.goto(f"{base}/console/queue")
    assert page.url.endswith("/console/signin")
    w.check("signin")
    w.sign_in("vf_not-a-key")
    assert "not on file or has been revoked" in page.inner_text("#signin-error")
    w.sign_in(world.keys["bank"])
    assert "recipient's key (for bank), not a staff key" in page.inner_text("#signin-error")
    w.check("signin-error", again=True)

    # ── intake: lands on submit-a-file, sends a file, sees what it became ───────
    w.sign_in(world.keys["intake"])
    page.wait_for_url("**/console/submit")
    nav = page.inner_text("header nav")
    assert "Submit a file" in nav and "Review queue" not in nav and "Audit" not in nav
    upload = tmp_path / "family-batch.csv"
    upload.write_text(
        "report_id,source_kind,source_id,ssn,first_name,middle_name,last_name,suffix,dob,"
        "dod,sex,death_state,reported_at\n"
        f"u6,family,fam,{ssn_of(6)},ANN,,{LAST[6]},,1950-01-02,2025-02-03,,IL,\n"
    )
    page.set_input_files("#file", str(upload))
    page.select_option("#source_kind", "family")
    page.click("#submit button[type=submit]")
    text = w.check("intake-submitted")
    assert "1 new report" in page.inner_text("#result")
    assert "family-batch.csv" in text and "fam/u6" in text
    w.sign_out()

    # ── reviewer: the queue, a held case side by side, decided from the keyboard ─
    w.sign_in(world.keys["reviewer"])
    page.wait_for_url("**/console/queue")
    text = w.check("queue")
    assert "R/family/h4" in text and "overdue" in text
    assert "no usable SSN" in text
    page.select_option("#group", "no usable SSN")
    page.click("form.filters button[type=submit]")
    assert "R/family/h4" in page.inner_text("main") and "D-" not in page.inner_text("tbody")
    page.click("text=R/family/h4")
    page.wait_for_selector("#decide")
    text = w.check("held-case")
    assert "SSN unusable" in text and "Protective hold" in text
    compare = page.inner_text("table.compare")
    for label in ("SSN", "first name", "last name", "sex", "birth date", "total"):
        assert label in compare
    rows = page.locator("table.compare tbody tr")
    assert "total" in rows.last.inner_text()
    # the model scored the report on either database: weights, and a chart without program text
    assert page.locator("#model-error").count() == 0, page.inner_text("#model-error")
    assert "starting point" in rows.first.inner_text()
    assert page.locator("figure.chart svg").count() >= 1
    assert "[" not in page.inner_text("figure.chart")
    assert "Finding" not in page.inner_text("#decide")  # no retraction here
    assert (
        page.eval_on_selector_all(
            "#decide input[name=decision]", "els => els.filter(e => e.checked).length"
        )
        == 0
    )
    # keyboard only: Tab to the decision, Space to choose "link", type, Enter
    tab_to(page, "decision")
    assert page.evaluate("document.activeElement.value") == "link"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the person id (empty: the best candidate)
    assert page.evaluate("document.activeElement.name") == "person_id"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "reason"
    page.keyboard.type("death certificate checked by phone")
    page.keyboard.press("Tab")
    page.keyboard.type("call log 2025-06-01")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#confirm")
    text = w.check("confirm-link")
    consequences = page.inner_text("#consequences")
    assert f"The death of ANN {LAST[4]} is posted" in consequences
    assert "level P" in consequences
    assert "no usable SSN" in page.inner_text("#protective")
    # still from the keyboard: Tab to the reason to override the hold, type, Tab, Enter
    tab_to(page, "override")
    page.keyboard.type("the family's funeral home confirmed the SSN on the certificate")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_selector("#outcome")
    outcome = w.check("decided")
    assert f"The death of ANN {LAST[4]} is posted" in outcome and "death.posted" not in outcome
    assert page.locator("#outcome a[href='/console/people/4']").count() >= 1

    # person 2: the time line; the reviewer opens a dispute: another reviewer must decide it
    text = w.goto("/console/people/2", "person-timeline")
    assert LAST[2] in text and "dead on file" in text and "Death posted" in text
    assert page.locator("figure.chart svg circle").count() >= 3
    page.fill("#d_evidence", "in-person identity check at the field office")
    page.click("#dispute button[type=submit]")
    page.wait_for_selector("#own-case")
    dispute_url = page.url
    assert page.locator("#decide").count() == 0
    # the SSN search is a text field (a typo can be seen)
    assert page.get_attribute("#find-ssn", "type") == "text"
    page.fill("#find-ssn", ssn_of(5))
    page.click("header form[role=search] button")
    page.wait_for_url("**/console/people/5")
    # the file as it stood at the end of a day: before person 5 was registered, nothing
    page.fill("#as_of", "2001-01-01")
    page.click("#asof button[type=submit]")
    page.wait_for_url("**as_of=2001-01-01")
    assert "Not on file as of 2001-01-01" in page.inner_text("#status")

    # two reviewers open the same case; the second to decide is told. The other reviewer's
    # browser runs no JavaScript (deciding is plain forms) and decides first
    rival = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    other = rival.new_page()
    Walk(other, base, None, None).sign_in(world.keys["reviewer2"])
    other.wait_for_url("**/console/queue")
    race = f"/console/cases/{race_case}"
    assert other.locator(f"tbody a[href='{race}']").count() == 1  # in the other's queue
    for pg in (other, page):
        pg.goto(base + race)
        pg.wait_for_selector("#decide")
    other.check("#decision-uphold")
    other.fill("#reason", "the letter is not evidence of life")
    other.click("#decide button[type=submit]")
    other.wait_for_selector("#outcome")
    rival.close()
    page.check("#decision-retract")
    page.check("#finding-not")
    page.fill("#reason", "seen alive")
    page.click("#decide button[type=submit]")
    told = w.check("race-lost")
    assert "reviewer-lee recorded 'uphold' on this case while you had it open" in told
    w.sign_out()

    # ── supervisor: assignments, keys, agreements; decides the dispute ──────────
    w.sign_in(world.keys["supervisor"])
    page.wait_for_url("**/console/supervise")
    text = w.check("supervise")
    for part in ("Assignments", "Pending corrections", "Agreements", "Keys", "reviewer-lee"):
        assert part in text
    page.locator("form.row input[name=owner]").first.fill("reviewer-lee")
    page.locator("form.row button").first.click()
    page.wait_for_url("**/console/supervise*")
    assert "reviewer-lee" in page.inner_text("#assignments + table")
    page.goto(dispute_url)
    page.wait_for_selector("#decide")
    page.check("#decision-retract")
    page.check("#finding-not")
    page.fill("#reason", "the person came in with their passport")
    page.click("#decide button[type=submit]")
    page.wait_for_selector("#outcome")
    outcome = w.check("retracted", again=True)
    assert f"The death of ANN {LAST[2]} is retracted" in outcome
    assert "correction sent to 2 recipients" in page.inner_text("#corrections")
    text = w.goto("/console/supervise", "supervise-after", again=True)
    assert "retracted" in page.inner_text("#corrections + table")
    w.goto("/console/dashboard", "dashboard-supervisor")
    assert page.locator("main svg").count() >= 4
    # the determinations register (never deaths): person 6's, noticed; on to their page,
    # where the notice to them goes out with a one-time access code
    text = w.goto("/console/determinations?state=notice_issued", "determinations")
    assert "benefit_ineligible" in text and "38 USC 5313" in text and "notice_issued" in text
    page.click("main tbody a[href='/console/people/6']")
    page.wait_for_url("**/console/people/6")
    page.click("#notice-form button")
    page.wait_for_selector("#access-code")
    code = page.inner_text("#access-code").strip()
    assert code in page.inner_text("#notice") and "NOT a record of death" in page.inner_text(
        "#notice"
    )
    w.check("notice-with-code")
    w.sign_out()

    # ── the person on the file: code and SSN open their record; they contest ────
    public = browser.new_context(viewport={"width": 1100, "height": 900})
    them = public.new_page()
    wp = Walk(them, base, shots, axe)
    wp.goto("/console/my-record", "my-record-code")
    for bad_code, bad_ssn in (("ABCD-EFGH-JKLM", ssn_of(6)), (code, ssn_of(5))):
        them.fill("#code", bad_code)
        them.fill("#ssn", bad_ssn)
        them.click("#code-form button")
        message = them.inner_text("#code-error")
        assert "do not open a record" in message and LAST[6] not in them.inner_text("main")
    them.fill("#code", code.lower())
    them.fill("#ssn", ssn_of(6))
    them.click("#code-form button")
    them.wait_for_url("**/console/my-record/view")
    text = wp.check("my-record")
    assert f"ANN {LAST[6]}" in text and "NOT a record of death" in text
    assert "Everyone your record was given to" in text
    them.check("#challenge input[name=what][value^='DT-']")
    them.fill("#ground", "I have never received benefits from this agency")
    them.fill("#evidence", "letter from the agency, 2025-05-02")
    them.click("#challenge button[type=submit]")
    them.wait_for_selector("#filed")
    filed = them.inner_text("#filed")
    assert "We have received what you told us (case X/" in filed
    contest_case = filed.split("(case ")[1].split(")")[0]
    wp.check("my-record-filed", again=True)
    them.click("text=Close my record")
    them.fill("#code", code)  # the code works once
    them.fill("#ssn", ssn_of(6))
    them.click("#code-form button")
    assert "do not open a record" in them.inner_text("#code-error")
    them.goto(f"{base}/console/my-record/view")
    assert "Your record" not in them.inner_text("main")
    public.close()

    # ── auditor: the ledger verified against the checkpoint; accounting; refusals ─
    w.sign_in(world.keys["auditor"])
    page.wait_for_url("**/console/audit")
    w.check("audit")
    ledger = page.inner_text("#ledger")
    assert "The ledger verifies" in ledger and "still extends it" in ledger
    page.fill("#acc-ssn", ssn_of(2))
    page.click("text=Show their accounting")
    page.wait_for_url("**/console/people/2/accounting")
    text = w.check("accounting")
    assert "bank" in text and "fraud prevention" in text
    page.goto(f"{base}/console/cases/{contest_case}")  # the person's contest, open
    assert "contested: I have never received benefits" in page.inner_text("main")
    assert page.locator("#decide").count() == 0  # auditors read, never decide
    w.goto("/console/dashboard", "dashboard-auditor", again=True)
    staff.close()
    assert len(w.checked) >= 15
    if shots is not None:
        for name in ("queue", "held-case", "confirm-link"):
            data = (shots / f"{name}.png").read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
