"""Notice documents: the text a subject of a determination receives, and the same as PDF.

A notice names the finding, the authority, the issuing agency, the effective date, the last
day to contest and how to contest. The text is fixed at issue (it is carried by the
`determination.notice_issued` event); the PDF is made from that text with fpdf2.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["notice_text", "write_notice_pdf"]

_KIND_WORDS = {
    "benefit_ineligible": "you are not eligible for benefits",
    "work_authorization_ended": "your authorization to work has ended",
}


def notice_text(
    *,
    notice_id: str,
    determination_id: str,
    kind: str,
    authority: str,
    agency: str,
    effective_date: str,
    issued_on: str,
    contest_by: str,
    identity: Mapping[str, str],
    computer_match: bool = False,
) -> str:
    """The notice as plain text (ASCII, so any printer and the PDF core fonts take it)."""
    name = " ".join(p for p in (identity.get("first_name", ""), identity.get("last_name", "")) if p)
    finding = _KIND_WORDS.get(kind, kind.replace("_", " "))
    lines = [
        "NOTICE OF A PROPOSED DETERMINATION",
        "",
        f"Notice: {notice_id}    Determination: {determination_id}",
        f"Date of this notice: {issued_on}",
        f"To: {name or 'the person concerned'}",
        "",
        f"{agency} has found that {finding} ({kind}),",
        f"under the legal authority {authority}, effective {effective_date or 'unknown'}.",
    ]
    if computer_match:
        lines += [
            "This finding came from a computer match and has been independently verified",
            "before this notice was sent.",
        ]
    lines += [
        "",
        "This finding is NOT a record of death and will not be shown as one.",
        "No action will be taken on it before the last day to contest has passed.",
        "",
        f"HOW TO CONTEST: by {contest_by} (30 days from this notice), tell us that the",
        "finding is wrong, quoting the determination number above, by mail, online or at",
        "any office, with any evidence you have. A contest received in time stops the",
        "finding until a reviewer has decided it; if the contest succeeds the finding is",
        "withdrawn.",
    ]
    text = "\n".join(lines) + "\n"
    return text.encode("ascii", "replace").decode("ascii")


def write_notice_pdf(text: str, path: Path) -> Path:
    """Write `text` as a one-page (or longer) PDF."""
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    first, _, rest = text.partition("\n")
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.multi_cell(0, 8, first, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    for line in rest.split("\n"):
        pdf.multi_cell(0, 6, line or " ", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path
