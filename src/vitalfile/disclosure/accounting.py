"""The accounting of disclosures about a person, a person's own record, and every refusal.

Answers, batch matches and feed pages are `disclosure.made` / `disclosure.refused` events,
kept one row per person in `disclosures`. Files are accounted per person through the
`delivered` projection (which record version each delivery held), not one event per record;
a refused file (`whole_file`) is in the accounting of everyone whose death was on file then.
`refusals` lists refused requests of every kind, for auditors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from vitalfile.dates import iso_now
from vitalfile.errors import UsageError
from vitalfile.events import DisclosureMade, DisclosureRefused, Event
from vitalfile.ledger.store import Store, Tx
from vitalfile.ledger.table import Table
from vitalfile.master.projection import status_of

__all__ = ["AccountingProjection", "accounting", "my_record", "person_ids_for", "refusals"]


DISCLOSURES = Table(
    "disclosures",
    "seq BIGINT",
    "kind VARCHAR",
    "channel VARCHAR",
    "recipient VARCHAR",
    "agreement_id VARCHAR",
    "purpose VARCHAR",
    "authority VARCHAR",
    "person_id BIGINT NULL",
    "fields VARCHAR",
    "given VARCHAR",
    "at_time VARCHAR",
    "whole_file BOOLEAN",
)


class AccountingProjection:
    """disclosures: one row per person per answer or refusal (NULL person when none)."""

    name = "accounting"

    def ddl(self) -> list[str]:
        return [
            DISCLOSURES.ddl,
            # issue 14: a refused file is about the whole file (older files gain the column)
            "ALTER TABLE disclosures ADD COLUMN IF NOT EXISTS whole_file BOOLEAN DEFAULT false",
        ]

    def tables(self) -> list[str]:
        return [DISCLOSURES.name]

    def handles(self, event_type: str) -> bool:
        return event_type in (DisclosureMade.type, DisclosureRefused.type)

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        rows: list[tuple[Any, ...]] = []

        def row(seq: int, kind: str, e: Any, pid: int | None, given: str, authority: str) -> None:
            rows.append(
                (
                    seq,
                    kind,
                    e.channel,
                    e.recipient,
                    e.agreement_id,
                    e.purpose,
                    authority,
                    pid,
                    ",".join(e.fields),
                    given,
                    e.at,
                    bool(getattr(e, "whole_file", False)),
                )
            )

        for seq, e in events:
            if isinstance(e, DisclosureMade):
                if not e.person_ids:
                    row(seq, "disclosure", e, None, "", e.authority)
                for pid, given in zip(e.person_ids, e.given, strict=False):
                    row(seq, "disclosure", e, pid, given, e.authority)
            elif isinstance(e, DisclosureRefused):
                pids: list[int | None] = list(e.person_ids) or [None]
                for maybe in pids:
                    row(seq, "refusal", e, maybe, f"refused: {e.reason}", "")
        tx.insert_arrow(DISCLOSURES.name, DISCLOSURES.from_rows(rows))


def person_ids_for(store: Store, ssn: str, upto_seq: int | None = None) -> list[int]:
    """People with this SSN (registered by `upto_seq`, when given)."""
    rows = store.query(
        "SELECT person_id FROM persons WHERE ssn = ? AND registered_seq <= ? ORDER BY person_id",
        [ssn, upto_seq if upto_seq is not None else 2**62],
    )
    return [int(r[0]) for r in rows]


def accounting(store: Store, ssn: str, *, upto_seq: int | None = None) -> list[dict[str, Any]]:
    """Every disclosure and refusal about the people with this SSN, oldest first."""
    upto = upto_seq if upto_seq is not None else 2**62
    ids = person_ids_for(store, ssn, upto_seq)
    out: list[dict[str, Any]] = []
    for pid in ids:
        for at, kind, channel, rec, agr, purpose, authority, fields, given in store.query(
            "SELECT at_time, kind, channel, recipient, agreement_id, purpose, authority, fields, "
            "given FROM disclosures WHERE person_id = ? AND seq <= ? ORDER BY seq",
            [pid, upto],
        ):
            out.append(
                {
                    "date": at,
                    "kind": kind,
                    "channel": channel,
                    "recipient": rec,
                    "agreement_id": agr,
                    "purpose": purpose,
                    "authority": authority,
                    "fields": fields,
                    "given": given,
                    "person_id": pid,
                }
            )
        for made_at, rec, agr, purpose, authority, action, version, kind, did in store.query(
            "SELECT dl.made_at, x.recipient, dl.agreement_id, "
            "coalesce(a.purpose, dl.purpose, ''), coalesce(a.authority, dl.authority, ''), "
            "x.action, x.version, dl.kind, "
            "x.delivery_id FROM delivered x JOIN deliveries dl ON dl.delivery_id = x.delivery_id "
            "LEFT JOIN agreements a ON a.agreement_id = dl.agreement_id "
            "WHERE x.person_id = ? AND x.seq <= ? ORDER BY x.seq",
            [pid, upto],
        ):
            what = {" ": "death record", "A": "added", "C": "changed", "D": "deleted"}[action]
            out.append(
                {
                    "date": made_at,
                    "kind": "disclosure",
                    "channel": "file",
                    "recipient": rec,
                    "agreement_id": agr,
                    "purpose": purpose or ("the keeper's own file" if rec == "" else ""),
                    "authority": authority,
                    "fields": "ssn,names,dob,dod,proof",
                    "given": f"{kind} file {did[:12]}: {what} (record version {version})",
                    "person_id": pid,
                }
            )
        # refused files: about everyone whose death was on file when the file was refused
        for at, channel, rec, agr, purpose, fields, given in store.query(
            "SELECT r.at_time, r.channel, r.recipient, r.agreement_id, r.purpose, r.fields, "
            "r.given FROM disclosures r WHERE r.whole_file AND r.seq <= ? AND EXISTS ("
            "SELECT 1 FROM death_versions v WHERE v.person_id = ? AND v.status = 'current' "
            "AND v.from_seq <= r.seq AND (v.to_seq IS NULL OR v.to_seq > r.seq)) ORDER BY r.seq",
            [upto, pid],
        ):
            out.append(
                {
                    "date": at,
                    "kind": "refusal",
                    "channel": channel,
                    "recipient": rec,
                    "agreement_id": agr,
                    "purpose": purpose,
                    "authority": "",
                    "fields": fields,
                    "given": given,
                    "person_id": pid,
                }
            )
    out.sort(key=lambda r: r["date"])
    return out


def refusals(
    store: Store, *, recipient: str | None = None, since: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every refused request (newest first): when, who, which channel, why, how many people.

    `since` is an ISO date or time (refusals at or after it); `recipient` '' is the keeper.
    """
    where = ["kind = 'refusal'"]
    params: list[Any] = []
    if limit < 1:
        raise UsageError("limit must be at least 1", field="limit")
    if since is not None:
        try:
            when = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError as exc:
            raise UsageError("since is not an ISO date or date-time", field="since") from exc
        since = iso_now(when) if "T" in since or " " in since else when.date().isoformat()
    if recipient is not None:
        where.append("recipient = ?")
        params.append(recipient)
    if since is not None:
        where.append("at_time >= ?")
        params.append(since)
    rows = store.query(
        "SELECT seq, min(at_time), min(channel), min(recipient), min(agreement_id), "
        "min(purpose), min(fields), min(given), count(person_id), "
        "bool_or(coalesce(whole_file, false)) FROM disclosures "
        f"WHERE {' AND '.join(where)} GROUP BY seq ORDER BY seq DESC LIMIT ?",
        [*params, limit],
    )
    return [
        {
            "seq": int(seq),
            "at": at,
            "channel": channel,
            "recipient": rec,
            "agreement_id": agr,
            "purpose": purpose,
            "fields": fields,
            "reason": str(given).removeprefix("refused: "),
            "people": int(n),
            "whole_file": bool(whole),
        }
        for seq, at, channel, rec, agr, purpose, fields, given, n, whole in rows
    ]


def my_record(store: Store, ssn: str, *, upto_seq: int | None = None) -> list[dict[str, Any]]:
    """What the file holds about the people with this SSN (as of `upto_seq`)."""
    out: list[dict[str, Any]] = []
    for pid in person_ids_for(store, ssn, upto_seq):
        st = status_of(store, pid, upto_seq=upto_seq)
        if st.person is None:
            continue
        d = st.death
        out.append(
            {
                "person_id": pid,
                "person": dict(st.person),
                "death": None
                if d is None
                else {
                    "status": d.status,
                    "date_of_death": d.dod,
                    "verification": d.proof,
                    "sources": list(d.sources),
                    "reports": list(d.report_keys),
                    "version": d.version,
                },
            }
        )
    return out
