"""Corrections owed: records a recipient holds whose version is no longer the right one.

A retraction, a change, or a death the recipient may no longer receive is owed to exactly
the recipients that hold the old version (`delivered`), whether or not their agreement is
still in force; `extracts.extract_update` delivers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from vitalfile.disclosure.policy import allows, recipient_tier
from vitalfile.errors import NotFound
from vitalfile.ledger.store import Store

__all__ = ["Correction", "pending_corrections"]


@dataclass(frozen=True)
class Correction:
    recipient: str
    person_id: int
    change: str  # retracted | changed | no longer allowed
    held_version: int
    current_version: int


def pending_corrections(
    store: Store, recipient: str | None = None, *, on: date | None = None
) -> list[Correction]:
    """For each recipient, the records it holds whose version is no longer the right one.

    An unknown recipient is an error (NotFound), not an empty list; '' is the keeper.
    """
    if recipient and recipient_tier(store, recipient) is None:
        raise NotFound("no such recipient", field="recipient")
    day = (on or date.today()).isoformat()
    where = "" if recipient is None else "WHERE x.recipient = ?"
    params: list[Any] = [] if recipient is None else [recipient]
    rows = store.query(
        "SELECT t.recipient, t.person_id, t.version, d.version, d.status, d.state_only, d.dod, "
        "coalesce(r.tier, 'federal') FROM (SELECT x.recipient, x.person_id, x.version, x.action,"
        " ROW_NUMBER() OVER (PARTITION BY x.recipient, x.person_id ORDER BY x.seq DESC) AS rn"
        " FROM delivered x JOIN (SELECT recipient, max(seq) AS full_seq FROM deliveries"
        " WHERE kind = 'full' GROUP BY recipient) f ON f.recipient = x.recipient"
        f" AND x.seq >= f.full_seq {where}) t"
        " JOIN deaths d ON d.person_id = t.person_id"
        " LEFT JOIN recipients r ON r.recipient = t.recipient"
        " WHERE t.rn = 1 AND t.action <> 'D' AND (d.version <> t.version OR d.status <> 'current'"
        " OR (coalesce(r.tier, 'federal') <> 'federal' AND d.state_only)"
        " OR coalesce(r.tier, 'federal') = 'public')"
        " ORDER BY t.recipient, t.person_id",
        params,
    )
    out: list[Correction] = []
    for rec, pid, held, cur, status, state_only, dod, tier in rows:
        if status != "current":
            change = "retracted"
        elif not allows(tier, day, status=status, state_only=bool(state_only), dod=dod):
            change = "no longer allowed"
        elif held != cur:
            change = "changed"
        else:
            continue
        out.append(Correction(str(rec), int(pid), change, int(held), int(cur)))
    return out
