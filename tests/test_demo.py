"""`vitalfile demo` tells the whole story on synthetic data (issue 18): each step said in
words, the protective holds held, corrections delivered, a determination in no death file,
a bulk request refused, the ledger verified, and an HTML summary with charts."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from vitalfile.cli.demo import run_demo


@pytest.mark.slow
def test_the_demo_tells_the_story(tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    s = run_demo(tmp_path / "demo", people=20_000, seed=3, console=console)
    said = "\n".join(s.story)
    for words in ("reports taken in", "held, not posted", "full files", "retracted",
                  "determination", "refused as bulk", "verified against the signed checkpoint",
                  "vitalfile serve --db"):  # fmt: skip
        assert words in said, words
    assert s.protected_held == 2
    assert s.determination_in_death_files == 0
    assert s.requests_refused > 0
    assert s.corrected_recipients and "pub" not in s.corrected_recipients
    assert s.full_records["fed"] >= s.full_records["bank"] >= s.full_records["pub"]
    page = (tmp_path / "demo" / "summary.html").read_text()
    assert page.count("<svg") >= 2 and "held, not posted" in page
    assert (tmp_path / "demo" / "reviewer.key").read_text().startswith("vf_")
    # no personal data in what the demo says: no SSN of the population appears
    people = (tmp_path / "demo" / "synth" / "people.csv").read_text().splitlines()[1:200]
    output = console.export_text()
    assert not any(line.split(",")[0] in output for line in people)
