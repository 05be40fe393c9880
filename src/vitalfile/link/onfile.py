"""What the linkers read from the file besides people: reviewers' vetoes and verified deaths.

Both are keyed for one batch: the vetoes by report, the verified deaths by the candidates'
person ids (a death a state certified, still current, with its date of death).
`decide_on_file` hands a scored batch and those two to the pure `decide.decide_batch`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from vitalfile.events import ReportReceived
from vitalfile.ledger.store import Store
from vitalfile.link.base import LinkResult

if TYPE_CHECKING:  # decide needs the Splink settings; the exact rule (vetoes only) does not
    from vitalfile.link.decide import Candidate, DecideSettings

__all__ = ["decide_on_file", "verified_deaths", "vetoes_of"]


def vetoes_of(store: Store, keys: Sequence[str]) -> dict[str, set[int]]:
    """report key -> the people a reviewer undid a link to (never linked again)."""
    if not keys:
        return {}
    rows = store.query_arrow(
        "SELECT report_key, vetoes FROM reports WHERE vetoes <> '' AND report_key IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [list(keys)],
    )
    out: dict[str, set[int]] = {}
    for key, v in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
        out[key] = {int(x) for x in v.split(",") if x}
    return out


def verified_deaths(store: Store, person_ids: Iterable[int]) -> dict[int, str]:
    """person id -> date of death, for those of `person_ids` with a current verified death."""
    ids = sorted({int(p) for p in person_ids})
    if not ids:
        return {}
    rows = store.query_arrow(
        "SELECT person_id, dod FROM deaths WHERE proof = 'V' AND status = 'current' "
        "AND person_id IN (SELECT unnest(?::BIGINT[]))",
        [ids],
    )
    return dict(
        zip(
            (int(p) for p in rows.column(0).to_pylist()),
            (str(d) for d in rows.column(1).to_pylist()),
            strict=True,
        )
    )


def decide_on_file(
    store: Store,
    reports: Sequence[ReportReceived],
    candidates: Sequence[Sequence[Candidate]],
    *,
    vetoes: dict[str, set[int]],
    settings: DecideSettings,
    model_version: str,
) -> list[LinkResult]:
    """The batch's outcomes, with the verified deaths on file among its candidates."""
    from vitalfile.link.decide import decide_batch

    ids = (c.person_id for cands in candidates for c in cands)
    return decide_batch(
        reports,
        candidates,
        vetoes=vetoes,
        verified_deaths=verified_deaths(store, ids),
        settings=settings,
        model_version=model_version,
    )
