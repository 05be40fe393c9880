"""Why a report was (or would be) linked: the waterfall in plain words, and as a chart.

Re-scores one stored report with the saved model (the same inputs give the same weights),
runs the holds stage on the proposal as intake does, and says, per comparison, the level
reached and its match weight, then the prior and the final probability. The chart is
Splink's waterfall chart, written as HTML (self-contained) or PNG (vl-convert, offline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vitalfile.errors import NotFound
from vitalfile.events import ReportReceived
from vitalfile.intake.holds import apply_holds, facts_for
from vitalfile.ledger.store import Store
from vitalfile.link.base import LinkResult
from vitalfile.link.onfile import decide_on_file, vetoes_of
from vitalfile.link.splink_linker import SplinkLinker
from vitalfile.master.projection import REPORT_COLUMNS

__all__ = ["Explanation", "explain_report", "load_report", "write_chart"]


@dataclass
class Explanation:
    report_key: str
    result: LinkResult
    lines: list[str]
    chart: dict[str, Any] | None = None  # the Vega-Lite spec of the waterfall
    html: str = ""
    candidates: list[int] = field(default_factory=list)


def load_report(store: Store, report: str) -> ReportReceived:
    """A stored report by its key (`source/report_id`) or, when unique, its report id."""
    cols = ", ".join(REPORT_COLUMNS)
    rows = store.query(
        f"SELECT report_key, {cols} FROM reports WHERE report_key = ? ORDER BY report_key",
        [report],
    ) or store.query(
        f"SELECT report_key, {cols} FROM reports WHERE report_id = ? ORDER BY report_key",
        [report],
    )
    if not rows:
        raise NotFound("no such report")
    if len(rows) > 1:
        raise NotFound("several sources sent a report with this id; give source/report_id")
    values = dict(zip(("report_key", *REPORT_COLUMNS), rows[0], strict=True))
    return ReportReceived(**{k: v for k, v in values.items() if v is not None})


def explain_report(
    store: Store, report: str, *, linker: SplinkLinker | None = None, chart: bool = False
) -> Explanation:
    """Score the report again and explain the outcome and the best candidate's weights."""
    linker = linker or SplinkLinker()
    r = load_report(store, report)
    vetoes = vetoes_of(store, [r.report_key])
    scored = linker.score(store, [r], vetoes=vetoes, keep_splink=chart)
    cands = scored.candidates[0]
    proposed = decide_on_file(
        store,
        [r],
        [cands],
        vetoes=vetoes,
        settings=linker.settings,
        model_version=linker.version,
    )
    (result,) = apply_holds([r], proposed, facts_for(store, [r], proposed), linker.settings)
    verdict = {"linked": "would be linked", "held": "would be held", "unlinked": "unlinked"}
    lines = [f"report {r.report_key}: {verdict[result.outcome]}"]
    if result.reason:
        lines.append(f"reason: {result.reason}")
    lines.extend(result.explanation or ("no person on file shares a blocking key",))
    out = Explanation(r.report_key, result, lines, candidates=[c.person_id for c in cands])
    if chart and scored.linker is not None and result.person_id is not None:
        best = result.person_id
        recs = [
            rec
            for rec in scored.records
            if best
            in (rec["unique_id_r"] if rec["source_dataset_l"] == "reports" else rec["unique_id_l"],)
        ]
        wf = scored.linker.visualisations.waterfall_chart(recs[:1], filter_nulls=False)
        out.chart = wf.chart_dict
        out.html = wf.to_html(inline=True)
    if scored.connection is not None:
        scored.connection.close()
    return out


def write_chart(expl: Explanation, *, png: Path | None = None, html: Path | None = None) -> None:
    """Write the waterfall chart as a PNG and/or a self-contained HTML file."""
    if expl.chart is None:
        raise NotFound("no candidate to chart for this report")
    if html is not None:
        html.write_text(expl.html, encoding="utf-8")
    if png is not None:
        import vl_convert as vlc

        png.write_bytes(vlc.vegalite_to_png(expl.chart, scale=1.5))
