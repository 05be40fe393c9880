"""The console in real headless Chromium (Debian's `chromium`, driven by Playwright): a
reviewer signs in, resolves a held case, retracts a death; every page is screenshotted and
checked for content."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.api_world import LAST, World, build_world, ssn_of
from vitalfile.api import create_app
from vitalfile.db import open_store
from vitalfile.disclosure.distribute import extract_full

CHROMIUM = Path("/usr/lib/chromium/chromium")
pytestmark = [
    # CI installs it (scripts/check) and must not skip; a bare developer machine may
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian chromium is not installed (apt-get install chromium)",
    ),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, World]]:
    world = build_world(str(tmp_path / "console.duckdb"), tmp_path / "work")
    store = open_store(world.url)
    try:  # two recipients hold person 2's death: a retraction owes both a correction
        for rec in ("fed", "bank"):
            extract_full(store, tmp_path / f"{rec}.txt", recipient=rec)
    finally:
        store.close()
    port = _free_port()
    config = uvicorn.Config(
        create_app(world.settings(session_secret="a-test-secret-of-some-length")),
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
        yield f"http://127.0.0.1:{port}", world
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_reviewer_resolves_a_held_case_and_retracts_a_death(
    served: tuple[str, World], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, world = served
    shots = tmp_path / "shots"
    shots.mkdir()
    taken: list[Path] = []

    def shot(page: object, name: str) -> None:
        path = shots / f"{len(taken):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        taken.append(path)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # pages need a session
        page.goto(f"{base}/console/queue")
        assert page.url.endswith("/console/signin")
        page.fill("#key", "vf_not-a-key")
        page.click("button[type=submit]")
        assert "unknown or revoked key" in page.inner_text("main")
        page.fill("#key", world.keys["reviewer"])
        page.click("button[type=submit]")
        shot(page, "queue")
        text = page.inner_text("main")
        assert "Review queue" in text and "R/family/h4" in text and "never issued" in text
        # the held case: its explanation and waterfall, then link it to person 4
        page.click("text=R/family/h4")
        page.wait_for_selector("#decide")
        shot(page, "held-case")
        text = page.inner_text("main")
        assert "SSN unusable: area 000 is never issued" in text
        assert "Waterfall" in text
        page.select_option("#decision", "link")
        page.fill("#person_id", "4")
        page.fill("#reason", "death certificate checked by phone")
        page.click("#decide button[type=submit]")
        shot(page, "held-case-decided")
        assert "Decision recorded" in page.inner_text("#outcome")
        assert "death.posted" in page.inner_text("#outcome")
        # person 2: timeline, as of a date, then a dispute and its retraction
        page.goto(f"{base}/console/people/2")
        shot(page, "person-timeline")
        text = page.inner_text("main")
        assert LAST[2] in text and "deceased" in text and "death.posted" in text
        page.fill("#as_of", "2001-01-01")
        page.click("#asof button[type=submit]")
        page.wait_for_url("**as_of=2001-01-01")
        shot(page, "person-as-of-2001")
        assert "Not on file" in page.inner_text("main")
        page.goto(f"{base}/console/people/2")
        page.fill("#d_evidence", "in-person identity check at the field office")
        page.click("#dispute button[type=submit]")
        page.wait_for_selector("#decide")
        shot(page, "dispute-case")
        assert "dispute" in page.inner_text("main")
        page.select_option("#decision", "retract")
        page.fill("#reason", "the person came in with their passport")
        page.click("#decide button[type=submit]")
        shot(page, "retracted")
        outcome = page.inner_text("#corrections")
        assert "correction sent to 2 recipients" in outcome and "bank" in outcome
        page.goto(f"{base}/console/people/2")
        assert "death.retracted" in page.inner_text("main") and "alive" in page.inner_text("main")
        # determinations: a reviewer may read them
        page.goto(f"{base}/console/determinations")
        shot(page, "determinations")
        assert "Determinations about living people" in page.inner_text("main")
        # the accounting is for supervisors and auditors: the reviewer is refused
        page.goto(f"{base}/console/people/2/accounting")
        assert "forbidden" in page.inner_text("main")
        page.click("text=Sign out")
        page.fill("#key", world.keys["auditor"])
        page.click("button[type=submit]")
        page.goto(f"{base}/console/people/2/accounting")
        shot(page, "accounting")
        text = page.inner_text("main")
        assert "Accounting of disclosures" in text and "full file" in text and "BANK" not in text
        assert "bank" in text and "fraud prevention" in text
        # an auditor reads cases but gets no decision form
        page.goto(f"{base}/console/cases/R/family/h4")
        assert page.query_selector("#decide") is None
        # an intake key cannot read the queue
        page.click("text=Sign out")
        page.fill("#key", world.keys["intake"])
        page.click("button[type=submit]")
        assert "forbidden" in page.inner_text("main")
        browser.close()
    for path in taken:
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, path
    assert ssn_of(2) not in "".join(str(t) for t in taken)
