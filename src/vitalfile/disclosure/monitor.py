"""Continuous monitoring: a recipient's customers watched; deaths about them queue notices.

`MonitorProjection` keeps the watched customers and, in the same transaction as each death
event, queues a notice for every recipient watching that person (same SSN, birth date and
last name). Whether a notice may be shown is decided when the feed is read, through the
gate, from the person's state as of the notice (so the public 3-year rule uses the read
date). Deaths taken over by a DMF initial load (`dmf.record_loaded`) queue no notices.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from vitalfile.disclosure.policy import VERIFY_FIELDS, gate, people_with_ssns
from vitalfile.disclosure.verify import CUSTOMER_COLUMNS, read_customers
from vitalfile.events import (
    DeathCorroborated,
    DeathPosted,
    DeathRetracted,
    DeathUpdated,
    DisclosureMade,
    Event,
    MonitorRegistered,
)
from vitalfile.ledger.checkpoint import make_checkpoint
from vitalfile.ledger.store import Store, Tx, utc_now_text
from vitalfile.ledger.table import Table
from vitalfile.master.projection import status_of

__all__ = ["FeedPage", "MonitorProjection", "feed", "page_delivery", "register_monitor"]

_CHANGE = {
    DeathPosted.type: "posted",
    DeathUpdated.type: "changed",
    DeathRetracted.type: "retracted",
    DeathCorroborated.type: "corroborated",
}


MONITORED = Table(
    "monitored",
    "recipient VARCHAR",
    "list_id VARCHAR",
    *(f"{c} VARCHAR" for c in CUSTOMER_COLUMNS),
    "seq BIGINT",
)
FEED_NOTICES = Table(
    "feed_notices",
    "recipient VARCHAR",
    "seq BIGINT",
    "person_id BIGINT",
    "customer_id VARCHAR",
    "change VARCHAR",
)
FEED_STAGE = Table("feed_stage", "seq BIGINT", "person_id BIGINT", "change VARCHAR")


class MonitorProjection:
    """monitored(recipient, list_id, customer_id, ssn, first_name, last_name, dob) and
    feed_notices(recipient, seq, person_id, customer_id, change)."""

    name = "monitor"

    def ddl(self) -> list[str]:
        return [
            MONITORED.ddl,
            FEED_NOTICES.ddl,
            FEED_STAGE.ddl,
        ]

    def tables(self) -> list[str]:
        return [t.name for t in (MONITORED, FEED_NOTICES, FEED_STAGE)]

    def handles(self, event_type: str) -> bool:
        return event_type == MonitorRegistered.type or event_type in _CHANGE

    def apply(self, tx: Tx, events: Sequence[tuple[int, Event]]) -> None:
        run: list[tuple[int, int, str]] = []
        for seq, e in events:
            if isinstance(e, MonitorRegistered):
                self._notices(tx, run)
                run = []
                cs = e.customers
                tx.insert_arrow(
                    MONITORED.name,
                    MONITORED.from_rows(
                        [
                            (e.recipient, e.list_id, *(c.get(k, "") for k in CUSTOMER_COLUMNS), seq)
                            for c in cs
                        ]
                    ),
                )
            elif isinstance(e, DeathCorroborated) and e.source_kind == "state":
                continue  # a state report cannot make a death available to anyone new
            else:
                run.append((seq, int(getattr(e, "person_id")), _CHANGE[e.type]))  # noqa: B009
        self._notices(tx, run)

    def _notices(self, tx: Tx, run: list[tuple[int, int, str]]) -> None:
        if not run or not tx.fetchall("SELECT 1 FROM monitored LIMIT 1"):
            return
        tx.insert_arrow(FEED_STAGE.name, FEED_STAGE.from_rows(run))
        tx.execute(
            f"INSERT INTO feed_notices ({', '.join(FEED_NOTICES.columns)}) "
            "SELECT m.recipient, s.seq, s.person_id, m.customer_id, s.change FROM feed_stage s "
            "JOIN persons p ON p.person_id = s.person_id "
            "JOIN monitored m ON m.ssn = p.ssn AND m.dob = p.dob AND m.dob <> '' "
            "AND m.last_name = upper(trim(p.last_name)) AND m.seq < s.seq"
        )
        tx.execute("DELETE FROM feed_stage")


def register_monitor(
    store: Store, recipient: str, path: Path, *, on: date | None = None
) -> tuple[str, int]:
    """Register a customers CSV to watch (through the gate); (list id, customers).

    A refusal is in the accounting of each person on file the list names by SSN."""
    customers = read_customers(path)
    gate(
        store,
        recipient,
        channel="feed",
        fields=VERIFY_FIELDS,
        on=on,
        person_ids=people_with_ssns(store, [c.ssn for c in customers]),
    )
    list_id = uuid.uuid4().hex
    rows = [{k: getattr(c, k) for k in CUSTOMER_COLUMNS} for c in customers]
    events = [
        MonitorRegistered(recipient=recipient, list_id=list_id, customers=rows[i : i + 50_000])
        for i in range(0, len(rows), 50_000)
    ]
    with store.transaction():
        for e in events:
            store.append([e], note="monitor")
    return list_id, len(rows)


@dataclass
class FeedPage:
    recipient: str
    notices: list[dict[str, Any]] = field(default_factory=list)
    next_since: int = 0
    disclosure_id: str = ""
    checkpoint: dict[str, Any] | None = None


def feed(
    store: Store,
    recipient: str,
    *,
    since: int = 0,
    on: date | None = None,
    limit: int = 1000,
    key: Ed25519PrivateKey | None = None,
) -> FeedPage:
    """Notices after `since` (a ledger seq) the recipient may see; one disclosure per page."""
    waiting = store.query(
        "SELECT DISTINCT person_id FROM feed_notices WHERE recipient = ? AND seq > ? "
        "ORDER BY person_id LIMIT ?",
        [recipient, since, limit],
    )
    grant = gate(
        store,
        recipient,
        channel="feed",
        fields=VERIFY_FIELDS,
        on=on,
        person_ids=[int(r[0]) for r in waiting],
    )
    rows = store.query(
        "SELECT seq, person_id, customer_id, change FROM feed_notices "
        "WHERE recipient = ? AND seq > ? ORDER BY seq, customer_id LIMIT ?",
        [recipient, since, limit],
    )
    page = FeedPage(recipient, next_since=since)
    people: list[int] = []
    given: list[str] = []
    for seq, pid, customer_id, change in rows:
        page.next_since = max(page.next_since, int(seq))
        after = status_of(store, int(pid), upto_seq=int(seq)).death
        before = status_of(store, int(pid), upto_seq=int(seq) - 1).death

        def ok(d: Any) -> bool:
            return d is not None and grant.allows(
                status=d.status, state_only=d.state_only, dod=d.dod
            )

        was, now = ok(before), ok(after)
        if not was and not now:
            continue
        if now and not was:
            kind = "posted"
        elif was and not now:
            kind = "retracted"
        elif change == "corroborated":
            continue  # nothing the recipient can see changed
        else:
            kind = change
        notice = {"seq": int(seq), "customer_id": customer_id, "change": kind}
        if now and after is not None:
            notice.update(dod=after.dod, proof=after.proof)
            given.append(f"{kind}: death on file {after.dod} {after.proof or '-'}")
        else:
            given.append(f"{kind}: no death on file")
        page.notices.append(notice)
        people.append(int(pid))
    page.disclosure_id = uuid.uuid4().hex
    store.append(
        [
            DisclosureMade(
                disclosure_id=page.disclosure_id,
                recipient=recipient,
                agreement_id=grant.agreement_id,
                purpose=grant.purpose,
                authority=grant.authority,
                channel="feed",
                fields=list(grant.fields),
                person_ids=people,
                given=given,
                at=utc_now_text(),
            )
        ],
        note="feed page",
    )
    if key is not None:
        head = store.head()
        assert head is not None
        cp = make_checkpoint(
            head, key, utc_now_text(), delivery=page_delivery(page, int(head.last_seq))
        )
        page.checkpoint = json.loads(cp.to_json())
    return page


def page_delivery(page: FeedPage, upto_seq: int) -> dict[str, Any]:
    """What a feed page's signed checkpoint says was sent: its notices' SHA-256 (of their
    canonical JSON, `json.dumps(notices, sort_keys=True, separators=(",", ":"))`)."""
    body = json.dumps(page.notices, sort_keys=True, separators=(",", ":")).encode()
    return {
        "delivery_id": page.disclosure_id,
        "recipient": page.recipient,
        "kind": "feed",
        "format": "json",
        "upto_seq": upto_seq,
        "records": len(page.notices),
        "sha256": hashlib.sha256(body).hexdigest(),
    }
